"""Coverage of the report's intervals by simulation: samples drawn from a population whose true values are known
(or computed on 2,000,000 rows), each sample's interval computed as the report computes it, and the share of samples
whose interval holds the truth. Nominal 95 %; each measured share has its own Monte Carlo (Wilson) interval. A share
below about 92 % is a defect to fix or to say in the report.

    python bench/bench_coverage.py [--reps 400] [--only NAME,...]  (the coverage_ functions' names without it)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from postreport.stats import bootstrap  # noqa: E402
from postreport.analyses.conformal import conformal_quantile  # noqa: E402
from postreport.analyses.fairness import group_metrics  # noqa: E402
from postreport.config import BootstrapConfig  # noqa: E402
from postreport.stats.metrics import binary_metrics  # noqa: E402
from postreport.stats.paired import difference_interval  # noqa: E402
from postreport.stats.calibration import logistic_recalibration  # noqa: E402
from postreport.stats.proportions import wilson, z_for  # noqa: E402

LEVEL = 0.95
BOOT = BootstrapConfig(resamples=500, level=LEVEL)
POPULATION = 2_000_000


def binary_population(rng, n):
    y = (rng.random(n) < 0.3).astype(int)
    score = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.6 * y - 0.9)))
    return y, score


def truths_binary():
    import sklearn.metrics as skm

    y, s = binary_population(np.random.default_rng(123), POPULATION)
    p = (s >= 0.5).astype(int)
    return {"accuracy": skm.accuracy_score(y, p), "recall": skm.recall_score(y, p),
            "precision": skm.precision_score(y, p), "f1": skm.f1_score(y, p), "roc_auc": skm.roc_auc_score(y, s),
            "brier": float(np.mean((y - s) ** 2))}


def coverage_binary(reps, n, rng):
    truth = truths_binary()
    hits = {k: 0 for k in truth}
    for r in range(reps):
        y, s = binary_population(rng, n)
        pred = (s >= 0.5).astype(int)
        result = binary_metrics(y, pred, s, 1).with_intervals(  # as metrics.candidate_metrics
            bootstrap.binary(y, pred, s, BOOT, r, stratified=False))
        result.honest_for_small_classes({0: int(n - y.sum()), 1: int(y.sum())}, float(np.sum(y == pred)), n,
                                        tp=float(y @ pred), predicted=float(pred.sum()), positives=float(y.sum()))
        for k in truth:
            ci = result.ci.get(k)
            hits[k] += ci is not None and ci[0] <= truth[k] <= ci[1]
    return {f"binary {k} (n={n})": hits[k] for k in truth}


def multiclass_population(rng, n, K=4):
    """K classes; scores from a Dirichlet peaked at the true class 70 % of the time (else at a random class)."""
    y = rng.integers(0, K, n)
    peak = np.where(rng.random(n) < 0.7, y, rng.integers(0, K, n))
    alpha = np.ones((n, K)) + 4 * np.eye(K)[peak]
    proba = rng.gamma(alpha)
    proba /= proba.sum(axis=1, keepdims=True)
    return y, proba.argmax(axis=1), proba


def coverage_multiclass(reps, n, rng):
    import sklearn.metrics as skm

    K = 4
    y, pred, proba = multiclass_population(np.random.default_rng(7), POPULATION // 4, K)
    truth = {"accuracy": skm.accuracy_score(y, pred), "f1": skm.f1_score(y, pred, average="macro"),
             "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr"),
             "class 0 recall": skm.recall_score(y, pred, average=None)[0]}
    hits = {k: 0 for k in truth}
    for r in range(reps):
        y, pred, proba = multiclass_population(rng, n, K)
        iv = bootstrap.multiclass(y, pred, K, proba, BOOT, r, stratified=False)
        for k in truth:
            ci = iv.interval("class_recall", 0) if k == "class 0 recall" else iv.interval(k)
            hits[k] += ci[0] <= truth[k] <= ci[1]
    return {f"multiclass {k} (n={n})": hits[k] for k in truth}


def coverage_slice(reps, n, rng):
    """A slice of n rows of a binary test set: accuracy as the slices table computes it (metrics.intervals on the
    slice's rows, drawn from all of them)."""
    truth = truths_binary()["accuracy"]
    hits = 0
    for r in range(reps):
        y, s = binary_population(rng, n)
        ci = bootstrap.binary(y, (s >= 0.5).astype(int), s, BOOT, r, stratified=False).interval("accuracy")
        hits += ci[0] <= truth <= ci[1]
    return {f"slice accuracy (n={n})": hits}


def coverage_regression(reps, n, rng, errors="t5"):
    """y ~ U(5, 15) (away from 0: MAPE's population value exists); errors 2·t₅ (heavy tails) or N(0, 2)."""
    def draw(g, size):
        e = 2 * g.standard_t(5, size) if errors == "t5" else g.normal(0, 2, size)
        return g.uniform(5, 15, size), e

    y, e = draw(np.random.default_rng(8), POPULATION)
    truth = {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e ** 2))),
             "r2": 1 - float(np.mean(e ** 2)) / (100 / 12), "mape": float(np.mean(np.abs(e) / np.abs(y))),
             "median_ae": float(np.median(np.abs(e)))}
    hits = {k: 0 for k in truth}
    for r in range(reps):
        y, e = draw(rng, n)
        iv = bootstrap.regression(y, y + e, BOOT, r)
        for k in truth:
            ci = iv.interval(k)
            hits[k] += ci[0] <= truth[k] <= ci[1]
    return {f"regression {k}, {errors} errors (n={n})": hits[k] for k in truth}


def coverage_near_all(reps, rng, p=0.98, n=45):
    """A class found 98 % of the time, 45 rows: the percentile bootstrap's recall interval against the Wilson interval
    the report uses when fewer than 10 rows are missed (metrics.RARE)."""
    z = z_for(LEVEL)
    hits = {"percentile bootstrap": 0, "Wilson, as reported": 0}
    for r in range(reps):
        found = rng.random(n) < p
        k = int(found.sum())
        draws = np.random.default_rng(r).binomial(n, k / n, BOOT.resamples) / n
        lo, hi = np.percentile(draws, [2.5, 97.5])
        hits["percentile bootstrap"] += lo <= p <= hi
        lo, hi = wilson(k, n, z) if min(k, n - k) < 10 else (lo, hi)
        hits["Wilson, as reported"] += lo <= p <= hi
    return {f"recall {p:.0%} of {n} rows, {k}": v for k, v in hits.items()}


def coverage_paired_difference(reps, n, rng):
    """Two models on the same rows, accuracies 0.80 and 0.75 in truth (difference 0.05)."""
    hits = 0
    for r in range(reps):
        y = rng.integers(0, 2, n)
        a = np.where(rng.random(n) < 0.80, y, 1 - y)
        b = np.where(rng.random(n) < 0.75, y, 1 - y)
        counts = bootstrap.resample_counts(bootstrap.Cells(np.zeros(n, dtype=int), np.ones(n, dtype=int), True),
                                           BOOT.resamples, r)
        da, db = [], []
        for W in counts:
            da.append(W @ (a == y) / n)
            db.append(W @ (b == y) / n)
        ci = difference_interval(np.concatenate(da), np.concatenate(db), LEVEL)
        hits += ci[0] <= 0.05 <= ci[1]
    return {f"paired accuracy difference (n={n})": hits}


def coverage_calibration(reps, n, rng):
    """Scores whose logits are 1/0.6 of the truth: true slope 0.6, true intercept 0.3."""
    z = z_for(LEVEL)
    hits = {"slope": 0, "intercept": 0}
    for _ in range(reps):
        s = np.clip(rng.beta(2, 3, n), 1e-6, 1 - 1e-6)
        logit = np.log(s / (1 - s))
        y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.6 * logit)))).astype(float)
        fit = logistic_recalibration(s, y)
        if fit is None:
            continue
        (a, b), (sa, sb) = fit
        hits["slope"] += b - z * sb <= 0.6 <= b + z * sb
        hits["intercept"] += a - z * sa <= 0.3 <= a + z * sa
    return {f"calibration {k} (n={n})": v for k, v in hits.items()}


def coverage_conformal(reps, n, rng):
    """Split-conformal intervals at 90 % on n calibration rows, judged on n test rows: the Wilson interval of the
    measured coverage holds the true coverage of that sample's interval (normal errors: computable exactly)."""
    from scipy.stats import norm

    z = z_for(LEVEL)
    hits = 0
    for _ in range(reps):
        q = conformal_quantile(np.abs(rng.normal(size=n)), 0.9)
        true = 2 * norm.cdf(q) - 1
        covered = np.abs(rng.normal(size=n)) <= q
        lo, hi = wilson(covered.sum(), n, z)
        hits += lo <= true <= hi
    return {f"conformal coverage, Wilson (n={n})": hits}


def coverage_fairness(reps, n, rng, groups):
    from types import SimpleNamespace

    rates = [0.3] * groups
    g = np.repeat(np.arange(groups), n)
    hits = 0
    for r in range(reps):
        pred = (rng.random(groups * n) < np.repeat(rates, n)).astype(int)
        y = rng.integers(0, 2, groups * n)
        ctx = SimpleNamespace(predictions=SimpleNamespace(y_true=y, y_pred=pred, probabilities=False),
                              encoded=SimpleNamespace(y_bin=y, pred_bin=pred, score=None))
        _, summary, _ = group_metrics("binary", ctx, g, 1, BootstrapConfig(resamples=10, level=LEVEL), r)
        ci = summary["demographic_parity_difference"]["ci"]
        hits += ci[0] <= 0 <= ci[1]
    return {f"parity difference, {groups} equal groups (n={n} each)": hits}


def coverage_monitoring(reps, rng):
    """over_time: a period's difference from the reference (Newcombe for accuracy, Welch for MAE, t5 errors), its
    Wilson / t interval, and CBPE's estimate against the accuracy the rows show; drift: the signed shifts."""
    from postreport.analyses.over_time import metric_interval, worse_test
    from postreport.stats import drift as st
    from postreport.stats.estimated import expected_accuracy

    z = z_for(LEVEL)
    mean_t5 = float(np.mean(np.abs(rng.standard_t(5, 2_000_000))))
    hits = dict.fromkeys(["over_time accuracy difference, Newcombe (n=300 vs 900)",
                          "over_time MAE difference, Welch, t5 errors (n=200 vs 600)",
                          "over_time period MAE, Student t, t5 errors (n=200)",
                          "over_time CBPE estimate of accuracy, calibrated scores (n=150)",
                          "drift mean shift / sd, no drift (n=500 vs 800)",
                          "drift mean shift / sd, 0.2 sd (n=500 vs 800)",
                          "drift largest share change, 4 categories, changed mix (n=600 vs 900)"], 0)
    keys = list(hits)
    base = [0.4, 0.3, 0.2, 0.1]
    for _ in range(reps):
        a, b = rng.random(300) > 0.8, rng.random(900) > 0.85  # errors: accuracy 0.80 vs 0.85
        _, ci, _ = worse_test({"n": 300, "right": 300 - a.sum()}, {"n": 900, "right": 900 - b.sum()}, False, z)
        hits[keys[0]] += ci[0] <= -0.05 <= ci[1]
        e1, e0 = np.abs(rng.standard_t(5, 200)) * 1.2, np.abs(rng.standard_t(5, 600))
        s1, s0 = ({"n": len(e), "ae": e.sum(), "se": (e * e).sum()} for e in (e1, e0))
        _, ci, _ = worse_test(s1, s0, True, z)
        hits[keys[1]] += ci[0] <= 0.2 * mean_t5 <= ci[1]
        ci = metric_interval(s1, "regression", z)
        hits[keys[2]] += ci[0] <= 1.2 * mean_t5 <= ci[1]
        p = rng.beta(5, 2, 150)
        _, ci, _ = expected_accuracy(p.sum(), (p * p).sum(), 150, z)
        hits[keys[3]] += ci[0] <= np.mean(rng.random(150) < p) <= ci[1]
        for key, delta in ((keys[4], 0.0), (keys[5], 0.2)):
            x, y = rng.normal(10, 2, 500), rng.normal(10 + 2 * delta, 2.5, 800)
            _, ci = st.mean_shift((500, x.mean(), x.var(ddof=1)), (800, y.mean(), y.var(ddof=1)), z)
            hits[key] += ci[0] <= delta <= ci[1]
        mix = [0.3, 0.3, 0.3, 0.1]
        r = np.bincount(rng.choice(4, 600, p=base), minlength=4)
        c = np.bincount(rng.choice(4, 900, p=mix), minlength=4)
        which, _, ci = st.largest_share_change(list("abcd"), r, c, lambda k: z_for(1 - (1 - LEVEL) / k))
        k = "abcd".index(which)
        hits[keys[6]] += ci[0] <= mix[k] - base[k] <= ci[1]
    return hits


def coverage_ece(reps, rng):
    """The ECE's interval as the report prints it, [0, the bootstrap's upper percentile], against the population's
    binned ECE (scores Beta(2, 2), P(y = 1 | s) = s ** power: calibrated at power 1), beside the two-sided percentile
    interval it replaced."""
    from postreport.analyses.calibration import ece_upper_bound
    from postreport.stats.calibration import bin_edges, ece_samples, reliability

    def draw(g, n, power):
        s = g.beta(2, 2, n)
        return s, (g.random(n) < s ** power).astype(float)

    edges = bin_edges(None, 10, "uniform")
    found = {}
    for power, n in ((1.0, 300), (1.3, 100), (1.3, 300), (2.0, 100)):
        s, _ = draw(np.random.default_rng(1), POPULATION, power)
        truth = reliability(s, s ** power, edges).ece
        upper = two_sided = 0
        for r in range(reps):
            s, y = draw(rng, n, power)
            samples = ece_samples(s, y, edges, BOOT.resamples, r)
            lo, hi = np.percentile(samples, [2.5, 97.5])
            bound = ece_upper_bound([lo, hi], reliability(s, y, edges).ece)
            upper += bound[0] <= truth <= bound[1]
            two_sided += lo <= truth <= hi
        found[f"calibration ECE {truth:.3f}, [0, upper percentile] as reported (n={n})"] = upper
        found[f"calibration ECE {truth:.3f}, two-sided percentile, before (n={n})"] = two_sided
    return found


def coverage_delong(reps, rng):
    """The macro one-vs-rest ROC AUC's DeLong interval (many classes: the bootstrap would rank every class in every
    resample), against the population's value from 400,000 rows of the same softmax model."""
    from postreport.stats.ranking import macro_auc_interval

    def scored(n, k, signal):
        y = rng.integers(0, k, n)
        logit = rng.normal(size=(n, k))
        logit[np.arange(n), y] += signal
        proba = np.exp(logit)
        return y, proba / proba.sum(axis=1, keepdims=True)

    z = z_for(LEVEL)
    found = {}
    for n, k, signal in ((2000, 50, 2.0), (1000, 20, 3.5)):
        truth = macro_auc_interval(*scored(400_000, k, signal), z)[0]
        hits = 0
        for _ in range(reps):
            _, (lo, hi) = macro_auc_interval(*scored(n, k, signal), z)
            hits += lo <= truth <= hi
        found[f"macro ROC AUC {truth:.3f}, DeLong, {k} classes (n={n})"] = hits
    return found


def coverage_repeats(reps, n, rng, weight):
    """The checks' and the feature importance's interval of a permutation importance: the mean accuracy drop of 5
    shuffles of x1 on n fixed rows (score x0 + weight * x1), Student's t; the truth is the mean over 4,000 shuffles
    of the same rows (the interval is about the shuffles, the rows held fixed)."""
    from postreport.stats.intervals import repeat_interval

    hits = 0
    for _ in range(reps):
        x0, x1 = rng.normal(size=n), rng.normal(size=n)
        y = (x0 + weight * x1 + rng.normal(size=n) > 0).astype(int)
        base = np.mean((x0 + weight * x1 > 0) == y)

        def drops(k):
            shuffled = x1[np.argsort(rng.random((k, n)), axis=1)]
            return base - np.mean(((x0 + weight * shuffled) > 0) == y, axis=1)

        truth = float(np.mean(drops(4000)))
        ci = repeat_interval(drops(5), LEVEL)
        hits += ci[0] - 1e-12 <= truth <= ci[1] + 1e-12
    return {f"permutation drop, 5 shuffles, weight {weight} (n={n})": hits}


def coverage_r2_gap(reps, rng, n=300, train_rows=6000, fit_rows=2000):
    """The overfitting check's R² gap: a deep tree's R² on a seeded 2,000 of its 6,000 training rows minus the test
    R²'s bootstrap interval on n rows; the truth is its R² on all its training rows minus its R² on 400,000 rows of
    the population (one tree: the test rows and the training sample vary)."""
    from sklearn.metrics import r2_score
    from sklearn.tree import DecisionTreeRegressor

    def draw(g, size):
        X = g.normal(size=(size, 3))
        return X, X[:, 0] + np.sin(2 * X[:, 1]) + g.normal(0, 1, size)

    g = np.random.default_rng(11)
    X, y = draw(g, train_rows)
    tree = DecisionTreeRegressor(max_depth=8, random_state=0).fit(X, y)
    Xp, yp = draw(g, 400_000)
    truth = r2_score(y, tree.predict(X)) - r2_score(yp, tree.predict(Xp))
    hits = 0
    for r in range(reps):
        rows = rng.choice(train_rows, fit_rows, replace=False)
        train = r2_score(y[rows], tree.predict(X[rows]))
        Xt, yt = draw(rng, n)
        low, high = bootstrap.regression(yt, tree.predict(Xt), BOOT, r).interval("r2")
        hits += train - high <= truth <= train - low
    return {f"overfitting R² gap, 2,000 of 6,000 training rows (n={n})": hits}


def coverage_corrected_t(reps, rng, n=1000, k=5):
    """The cross-validation section's Nadeau-Bengio interval of the mean fold accuracy: a logistic regression on 5
    features, 5-fold CV of n rows; the truth is the expected accuracy of the same learner fitted on n (k-1) / k rows
    (the mean over 300 independent training sets, each scored on 200,000 population rows). The plain t interval,
    sqrt(s² / k), beside it."""
    from scipy.stats import t
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from postreport.stats.paired import corrected_t

    beta = np.array([1.0, -0.7, 0.5, 0.0, 0.3])

    def draw(g, size):
        X = g.normal(size=(size, 5))
        return X, (g.random(size) < 1 / (1 + np.exp(-(X @ beta)))).astype(int)

    g = np.random.default_rng(12)
    Xp, yp = draw(g, 200_000)
    train = n * (k - 1) // k
    truth = float(np.mean([LogisticRegression().fit(*draw(g, train)).score(Xp, yp) for _ in range(300)]))
    hits = {"corrected": 0, "plain": 0}
    for r in range(reps):
        X, y = draw(rng, n)
        scores = [LogisticRegression().fit(X[a], y[a]).score(X[b], y[b])
                  for a, b in StratifiedKFold(k, shuffle=True, random_state=r).split(X, y)]
        low, high = corrected_t(scores, n / k, train, LEVEL)["ci"]
        hits["corrected"] += low <= truth <= high
        half = t.ppf((1 + LEVEL) / 2, k - 1) * np.std(scores, ddof=1) / np.sqrt(k)
        hits["plain"] += np.mean(scores) - half <= truth <= np.mean(scores) + half
    return {f"cross-validation accuracy, Nadeau-Bengio corrected t ({k} folds of {n} rows)": hits["corrected"],
            f"cross-validation accuracy, plain t, before ({k} folds of {n} rows)": hits["plain"]}


def coverage_calibrated_cbpe(reps, rng, n_ref=5000, n=2000):
    """over_time's label-free accuracy interval after calibration on the reference: scores cubed (far from
    calibrated), isotonic maps fitted on n_ref labelled reference rows, a later period of n rows from the same
    distribution estimated from its mapped scores; the truth is the accuracy the period's labels show (what the
    interval is for). Beside it the raw scores' interval."""
    from postreport.run.predictions import confidence
    from postreport.stats.estimated import apply_maps, expected_accuracy, map_variance, reference_calibration

    z = z_for(LEVEL)
    hits = {"calibrated": 0, "raw": 0}

    def draw(size):
        q = rng.beta(2, 2, size)
        y = (rng.random(size) < q).astype(int)
        return np.column_stack([1 - q ** 3, q ** 3]), y

    for _ in range(reps):
        proba, y = draw(n_ref)
        maps, _ = reference_calibration(proba, y, "isotonic", 0)
        ref_conf = confidence([0, 1], apply_maps(maps, proba), (proba[:, 1] >= 0.5).astype(int))
        mapped = map_variance(ref_conf.sum(), (ref_conf * ref_conf).sum(), n_ref)  # as over_time adds it
        later, truth_y = draw(n)
        predicted = (later[:, 1] >= 0.5).astype(int)
        realized = float(np.mean(predicted == truth_y))
        for name, scores, extra in (("calibrated", apply_maps(maps, later), mapped), ("raw", later, 0.0)):
            conf = confidence([0, 1], scores, predicted)
            _, ci, _ = expected_accuracy(conf.sum(), (conf * conf).sum(), n, z, extra)
            hits[name] += ci[0] <= realized <= ci[1]
    return {f"over_time label-free accuracy, isotonic on {n_ref:,} reference rows (n={n})": hits["calibrated"],
            f"over_time label-free accuracy, raw cubed scores, before (n={n})": hits["raw"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--only", default="", help="comma-separated: binary,regression,repeats,r2_gap,...")
    args = parser.parse_args()
    reps, only = args.reps, {o for o in args.only.split(",") if o}
    rng = np.random.default_rng(2026)
    start = time.perf_counter()
    found = {}

    def run(name, *arguments):
        if not only or name in only:
            found.update(globals()[f"coverage_{name}"](reps, *arguments))

    for n in (300, 60):
        run("binary", n, rng)
    run("binary", 100, rng)
    run("slice", 100, rng)
    run("multiclass", 300, rng)
    for errors in ("t5", "normal"):
        for n in (300, 60):
            run("regression", n, rng, errors)
    run("near_all", rng)
    run("paired_difference", 300, rng)
    run("calibration", 300, rng)
    run("conformal", 300, rng)
    for groups in (2, 5, 10):
        run("fairness", 300, rng, groups)
    run("monitoring", rng)
    run("delong", rng)
    run("ece", rng)
    for weight in (0.5, 0.1):
        run("repeats", 300, rng, weight)
    run("r2_gap", rng)
    run("corrected_t", rng)
    run("calibrated_cbpe", rng)
    run("calibrated_cbpe", rng, 1000, 5000)
    z = z_for(0.95)
    print(f"| interval | coverage at nominal {LEVEL:.0%} | Monte Carlo 95% interval ({reps} samples) |")
    print("|---|---:|---|")
    for name, hits in found.items():
        lo, hi = wilson(hits, reps, z)
        flag = " **below 92 %**" if hits / reps < 0.92 else ""
        print(f"| {name} | {hits / reps:.1%}{flag} | [{lo:.1%}, {hi:.1%}] |")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
