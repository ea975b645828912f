"""Calibration's statistics: score bins, the reliability curve, the expected calibration error's resamples and its
value under perfect calibration, logistic recalibration (slope and intercept)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from postreport.stats.bootstrap import weighted_edges


@dataclass
class Reliability:
    mean_predicted: list
    fraction_positive: list
    count: list
    ece: float

    def to_json(self) -> dict:
        return {"mean_predicted": self.mean_predicted, "fraction_positive": self.fraction_positive,
                "count": self.count, "ece": self.ece}


def bin_edges(score: np.ndarray, bins: int, strategy: str, weight=None) -> np.ndarray:
    if strategy == "quantile":
        edges = (np.unique(np.quantile(score, np.linspace(0, 1, bins + 1))) if weight is None
                 else weighted_edges(score, weight, bins))
        edges[0], edges[-1] = 0.0, 1.0
        return edges
    return np.linspace(0, 1, bins + 1)


def bin_index(score: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, score, side="right") - 1, 0, len(edges) - 2)


def reliability(score: np.ndarray, outcome: np.ndarray, edges: np.ndarray, weight=None) -> Reliability:
    """weight: rows per entry (aggregated input; None: one each)."""
    w = np.ones(len(score)) if weight is None else weight
    idx = bin_index(score, edges)
    nb = len(edges) - 1
    count = np.bincount(idx, w, minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(idx, w * score, minlength=nb) / count
        frac = np.bincount(idx, w * outcome, minlength=nb) / count
    keep = count > 0
    ece = float(np.sum(count[keep] * np.abs(frac[keep] - mean[keep])) / w.sum())
    return Reliability(mean[keep].tolist(), frac[keep].tolist(), np.rint(count[keep]).astype(int).tolist(), ece)


def ece_samples(score, outcome, edges, resamples: int, seed: int, weight=None) -> np.ndarray:
    """ECE of each bootstrap resample: rows grouped by (bin, outcome), counts drawn from a multinomial."""
    w = np.ones(len(score)) if weight is None else weight
    n = int(round(w.sum()))
    idx = bin_index(score, edges)
    uniq, inverse = np.unique(idx * 2 + outcome.astype(int), return_inverse=True)
    count = np.bincount(inverse, w)
    mean_score = np.bincount(inverse, w * score) / count
    onehot = np.zeros((len(uniq), len(edges) - 1))
    onehot[np.arange(len(uniq)), uniq // 2] = 1
    W = np.random.default_rng([seed, 1]).multinomial(n, count / n, size=resamples).astype(float)
    predicted = (W * mean_score) @ onehot
    observed = (W * (uniq % 2)) @ onehot
    return np.abs(observed - predicted).sum(axis=1) / n


def logistic_recalibration(score: np.ndarray, outcome: np.ndarray, weight=None) -> Optional[tuple]:
    """Calibration intercept and slope: the unpenalised logistic fit of the outcome on logit(score) (Newton's
    method), with standard errors from the inverse information. None when it does not converge (separation).
    weight: rows per entry (aggregated input)."""
    weight = np.ones(len(score)) if weight is None else weight
    eps = 1e-12
    x = np.log(np.clip(score, eps, 1 - eps) / np.clip(1 - score, eps, 1 - eps))
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(X @ beta)))
        w = weight * p * (1 - p)
        info = X.T @ (X * w[:, None])
        try:
            step = np.linalg.solve(info, X.T @ (weight * (outcome - p)))
        except np.linalg.LinAlgError:
            return None
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        return None
    if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 1e3:
        return None
    p = 1 / (1 + np.exp(-(X @ beta)))
    cov = np.linalg.inv(X.T @ (X * (weight * p * (1 - p))[:, None]))
    return (float(beta[0]), float(beta[1])), (float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1])))


def expected_ece_if_calibrated(score: np.ndarray, edges: np.ndarray, seed: int, draws: int = 100,
                               weight=None) -> float:
    """The ECE a perfectly calibrated model would show on these scores by chance (outcomes drawn from the scores
    themselves): subtracted from the ECE for the debiased estimate. weight: rows per entry (aggregated input)."""
    rng = np.random.default_rng(seed + 7)
    idx = bin_index(score, edges)
    nb = len(edges) - 1
    w = np.ones(len(score)) if weight is None else weight
    mean = np.bincount(idx, w * score, minlength=nb)
    if w.sum() > 20000 or weight is not None:  # a bin's hits are a sum of many Bernoullis: its normal approximation
        spread = np.sqrt(np.bincount(idx, w * score * (1 - score), minlength=nb))
        hits = mean + spread * rng.standard_normal((draws, nb))
        return float(np.mean(np.sum(np.abs(hits - mean), axis=1)) / w.sum())
    total = 0.0
    for _ in range(draws):
        hits = np.bincount(idx, (rng.random(len(score)) < score).astype(float), minlength=nb)
        total += float(np.sum(np.abs(hits - mean)) / len(score))
    return total / draws
