"""Saliency for any image model, gradient-free (it only asks the model for probabilities), and checks of the maps.

Maps (one value per pixel location, channels together):
- occlusion: a window x window square slid with `stride` is replaced by the baseline (the mean training image); a
  pixel's value is the mean drop of the target class's probability over the windows that cover it;
- RISE (Petsiuk et al., 2018): N random masks (a coarse grid of cells kept with probability p, upsampled bilinearly
  with a random shift) blend the image with the baseline; a pixel's value is the mean probability over the masks
  weighted by how much each mask keeps it, minus the mean probability (so 0 means "no effect").
Checks:
- model randomisation (Adebayo et al., 2018): maps of copies of the model whose weights are re-drawn at random, top
  layer first then all, against the real maps by Spearman rank correlation per image, with a bootstrap interval over
  the images; maps that barely change (interval above SIMILAR) do not explain the model;
- deletion and insertion (Petsiuk et al., 2018): the target probability as the most salient pixels are replaced by
  the baseline (deletion, lower area is better) or revealed from the baseline (insertion, higher is better), each
  area against the same curve in random pixel order, the difference with an interval over the images.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pandas as pd

from postreport.config import BootstrapConfig
from postreport.stats.paired import row_mean_interval
from postreport.models.onnx_model import OnnxModel, session_for

SIMILAR = 0.5  # randomisation check: a mean rank correlation whose interval lies above this is "barely changed"
STEPS = 16  # deletion / insertion: points on each curve
MAX_MASKS = 1000  # RISE masks at most (its maps settle by a few hundred on small images)
RISE_OPS = 3e9  # multiply-adds the RISE maps of the examples may take: masks = this / (model ops x examples)
RANDOM_ORDERS = 3  # random pixel orders per image for the reference curves


@dataclass
class Images:
    """Images as the model takes them: flat rows (n, H*W*C), channels last, with their shape and the baseline."""

    shape: tuple  # (H, W)
    channels: int
    baseline: np.ndarray  # (H*W*C,)

    def grid(self, rows: np.ndarray) -> np.ndarray:
        return rows.reshape(len(rows), self.shape[0], self.shape[1], self.channels)

    def blend(self, rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """rows (n, P) blended with the baseline by keep (n, H, W) in [0, 1] (1: the image's pixel)."""
        base = self.baseline.reshape(1, *self.shape, self.channels)
        out = self.grid(rows) * keep[..., None] + base * (1 - keep[..., None])
        return out.reshape(len(rows), -1)


def plan_masks(ops: int, examples: int) -> int:
    """RISE's masks from the model's multiply-adds per image and the examples explained (never from the clock)."""
    return int(np.clip(RISE_OPS / (max(ops, 1) * max(examples, 1)), 100, MAX_MASKS))


def display(row: np.ndarray, shape: tuple, channels: int) -> np.ndarray:
    """An image row as a 2-D picture: itself (grayscale) or its luminance (RGB)."""
    if channels == 1:
        return row.reshape(shape)
    return row.reshape(*shape, channels) @ np.array([0.299, 0.587, 0.114])


def occlusion(predict: Callable, images: Images, rows: np.ndarray, target: np.ndarray, window: int,
              stride: int) -> np.ndarray:
    """(n, H, W) occlusion maps: the drop of the target class's probability when a window covers the pixel."""
    H, W = images.shape
    tops = [(r, c) for r in _starts(H, window, stride) for c in _starts(W, window, stride)]
    n = len(rows)
    keep = np.ones((len(tops), H, W))
    for p, (r, c) in enumerate(tops):
        keep[p, r:r + window, c:c + window] = 0
    full = predict(rows)[np.arange(n), target]
    batch = images.blend(np.repeat(rows, len(tops), axis=0), np.tile(keep, (n, 1, 1)))
    probs = predict(batch).reshape(n, len(tops), -1)[np.arange(n)[:, None], np.arange(len(tops))[None, :],
                                                      target[:, None]]
    drop = full[:, None] - probs  # (n, windows)
    covered = 1 - keep  # (windows, H, W)
    counts = covered.sum(axis=0)
    return np.einsum("np,phw->nhw", drop, covered) / np.maximum(counts, 1)[None]


def _starts(size: int, window: int, stride: int) -> list:
    starts = list(range(0, max(size - window, 0) + 1, stride))
    if starts[-1] + window < size:
        starts.append(size - window)  # the last window reaches the edge
    return starts


def rise(predict: Callable, images: Images, rows: np.ndarray, target: np.ndarray, masks: int, cells: int,
         seed: int, keep: float = 0.5) -> np.ndarray:
    """(n, H, W) RISE maps from `masks` random masks on a cells x cells grid (the same masks for every image)."""
    m = random_masks(images.shape, masks, cells, keep, seed)  # (masks, H, W)
    n = len(rows)
    out = np.zeros((n, *images.shape))
    for i in range(n):
        batch = images.blend(np.repeat(rows[i:i + 1], masks, axis=0), m)
        p = predict(batch)[:, target[i]]
        out[i] = np.tensordot(p - p.mean(), m, axes=1) / (masks * keep)
    return out


def random_masks(shape: tuple, count: int, cells: int, keep: float, seed: int) -> np.ndarray:
    """RISE's masks: a cells x cells grid of cells kept with probability `keep`, upsampled bilinearly to a grid one
    cell larger than the image and cropped at a random offset (so cell edges fall anywhere)."""
    H, W = shape
    rng = np.random.default_rng(seed)
    ch, cw = -(-H // cells), -(-W // cells)
    grid = (rng.random((count, cells + 1, cells + 1)) < keep).astype(float)
    big_h, big_w = (cells + 1) * ch, (cells + 1) * cw
    ys = (np.arange(big_h) + 0.5) / ch - 0.5
    xs = (np.arange(big_w) + 0.5) / cw - 0.5
    y0, x0 = np.clip(np.floor(ys).astype(int), 0, cells), np.clip(np.floor(xs).astype(int), 0, cells)
    y1, x1 = np.minimum(y0 + 1, cells), np.minimum(x0 + 1, cells)
    fy, fx = np.clip(ys - y0, 0, 1)[:, None], np.clip(xs - x0, 0, 1)[None, :]
    up = (grid[:, y0][:, :, x0] * (1 - fy) * (1 - fx) + grid[:, y0][:, :, x1] * (1 - fy) * fx
          + grid[:, y1][:, :, x0] * fy * (1 - fx) + grid[:, y1][:, :, x1] * fy * fx)
    dy, dx = rng.integers(0, ch, count), rng.integers(0, cw, count)
    return np.stack([up[k, dy[k]:dy[k] + H, dx[k]:dx[k] + W] for k in range(count)])


def pointing_game(maps: np.ndarray, boxes: list) -> float:
    """The share of maps whose largest value lies inside the image's box (top, left, bottom, right; exclusive)."""
    hits = 0
    for m, (t, l, b, r) in zip(maps, boxes):
        y, x = np.unravel_index(np.argmax(m), m.shape)
        hits += t <= y < b and l <= x < r
    return hits / len(maps)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (average ranks for ties; 0 when one is constant)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a.ravel()), rankdata(b.ravel())
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


CHECK_RESAMPLES = 2000  # the checks' intervals: resamples of the images (or rows) they average over


def mean_and_interval(values: np.ndarray, level: float, seed: int) -> tuple:
    """(mean, [low, high]): the mean over the images (or rows) and its bootstrap interval (stats.paired's, every row
    resampled)."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return float(v.mean()) if len(v) else float("nan"), None
    return float(v.mean()), row_mean_interval(v, BootstrapConfig(CHECK_RESAMPLES, level, max_exact_rows=len(v)), seed)


def randomisation_check(explain: Callable, models: list, real: np.ndarray, level: float, seed: int) -> list:
    """For each (name, randomised model): the rank correlation of its maps with the real ones per image, the mean
    with its interval, and whether the maps barely changed (the interval above SIMILAR)."""
    out = []
    for k, (name, model) in enumerate(models):
        maps = explain(model)
        rho = np.array([spearman(a, b) for a, b in zip(real, maps)])
        mean, ci = mean_and_interval(np.abs(rho), level, seed + k)
        out.append({"randomised": name, "rank_correlation": mean, "ci": ci,
                    "barely_changed": bool(ci is not None and ci[0] > SIMILAR)})
    return out


def deletion_insertion(predict: Callable, images: Images, rows: np.ndarray, target: np.ndarray, maps: np.ndarray,
                       level: float, seed: int) -> dict:
    """Deletion and insertion areas (mean probability of the target over STEPS fractions of pixels removed / shown,
    most salient first) against random pixel order: per curve the mean area, the random order's, and the mean
    difference over the images with its interval."""
    rng = np.random.default_rng(seed)
    H, W = images.shape
    fractions = np.linspace(0, 1, STEPS + 1)
    n = len(rows)

    def curves(orders: np.ndarray) -> tuple:
        """orders (n, H*W): pixel locations, first removed / shown first; returns (deletion, insertion) areas."""
        rank = np.empty_like(orders)
        rank[np.arange(n)[:, None], orders] = np.arange(H * W)[None, :]
        cut = (fractions * H * W).round().astype(int)  # the first cut[s] pixels in the order
        shown = (rank[:, None, :] < cut[None, :, None]).reshape(n * len(cut), H, W).astype(float)
        repeated = np.repeat(rows, len(cut), axis=0)
        tgt = np.repeat(target, len(cut))
        deleted = predict(images.blend(repeated, 1 - shown))[np.arange(len(tgt)), tgt].reshape(n, -1)
        inserted = predict(images.blend(repeated, shown))[np.arange(len(tgt)), tgt].reshape(n, -1)
        area = lambda y: ((y[:, 1:] + y[:, :-1]) / 2).mean(axis=1)  # noqa: E731  trapezoids over [0, 1]
        return area(deleted), area(inserted)

    salient = np.argsort(-maps.reshape(n, -1), axis=1, kind="mergesort")
    deletion, insertion = curves(salient)
    random_del, random_ins = np.zeros(n), np.zeros(n)
    for _ in range(RANDOM_ORDERS):
        d, i = curves(np.argsort(rng.random((n, H * W)), axis=1))
        random_del += d / RANDOM_ORDERS
        random_ins += i / RANDOM_ORDERS
    out = {}
    for name, ours, theirs, better in (("deletion", deletion, random_del, "lower"),
                                       ("insertion", insertion, random_ins, "higher")):
        diff, ci = mean_and_interval(ours - theirs, level, seed + (name == "insertion"))
        clearly = ci is not None and (ci[1] < 0 if better == "lower" else ci[0] > 0)
        out[name] = {"area": float(ours.mean()), "random_area": float(theirs.mean()), "difference": diff, "ci": ci,
                     "better": better, "faithful": bool(clearly)}
    return out


# ------------------------------------------------------------------ randomised copies of a model

def randomised_copies(model, seed: int) -> Optional[list]:
    """[(name, copy)] with weights re-drawn (normal, each layer's own sd), top layer first then every layer; None
    when the model's weights cannot be re-drawn here (neither ONNX nor a scikit-learn MLP / linear model)."""
    if isinstance(model, OnnxModel):
        return _onnx_copies(model, seed)
    final = getattr(model, "steps", [[None, model]])[-1][1]
    if hasattr(final, "coefs_"):
        layers = len(final.coefs_)
        return [(name, _mlp_copy(model, seed, range(start, layers)))
                for name, start in (("top layer", layers - 1), ("all layers", 0))]
    if hasattr(final, "coef_"):
        return [("all layers", _mlp_copy(model, seed, None))]
    return None


def _mlp_copy(model, seed: int, layers):
    rng = np.random.default_rng(seed)
    twin = copy.deepcopy(model)
    final = getattr(twin, "steps", [[None, twin]])[-1][1]
    if layers is None:  # a linear model
        final.coef_ = rng.normal(0, final.coef_.std() or 1.0, final.coef_.shape)
        return twin
    for k in layers:
        w = final.coefs_[k]
        final.coefs_[k] = rng.normal(0, w.std() or 1.0, w.shape)
        final.intercepts_[k] = rng.normal(0, final.intercepts_[k].std() or 0.1, final.intercepts_[k].shape)
    return twin


def weight_layers(proto) -> list:
    """The names of the weight initialisers of the graph's Conv, Gemm and MatMul nodes, input side first."""
    initialisers = {i.name for i in proto.graph.initializer}
    names = []
    for node in proto.graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul", "ConvTranspose"):
            names += [x for x in node.input[1:] if x in initialisers and x not in names]
    return names


def _onnx_copies(model, seed: int) -> Optional[list]:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return None

    proto = onnx.load(model.path)
    layers = weight_layers(proto)
    if not layers:
        return None
    out = []
    rng = np.random.default_rng(seed)
    stages = [("top layer", layers[-2:] if len(layers) > 1 and _is_bias(proto, layers[-1]) else layers[-1:]),
              ("all layers", layers)]
    for name, chosen in stages:
        twin = copy.deepcopy(proto)
        for init in twin.graph.initializer:
            if init.name in chosen:
                w = numpy_helper.to_array(init)
                init.CopyFrom(numpy_helper.from_array(rng.normal(0, float(w.std()) or 1.0, w.shape).astype(w.dtype),
                                                      init.name))
        # from memory: nothing is written beside the user's model file
        session = session_for(model.path, model.session.get_session_options().intra_op_num_threads,
                              twin.SerializeToString())
        copy_model = OnnxModel(session, model.task, model.roles, list(model.classes_), list(model.feature_names_in_),
                               model.image_shape, model.layout, model.path)
        out.append((name, copy_model))
    return out


def _is_bias(proto, name: str) -> bool:
    return any(node.op_type in ("Conv", "Gemm") and len(node.input) > 2 and node.input[2] == name
               for node in proto.graph.node)


def file_ops(path, image_size: int) -> int:
    """Multiply-adds of one forward pass of an ONNX file, from its weights' shapes: a Conv weight's size times the
    output pixels (taken as the input's, an upper bound for strided layers), a dense layer's weight size; the plan
    sizes RISE's masks from it (1,000 per pixel when the onnx package is missing to read it)."""
    try:
        import onnx
    except ImportError:
        return 1000 * image_size
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # an unreadable file is the model loader's error to report
        return 1000 * image_size
    conv = {x for n in proto.graph.node if n.op_type in ("Conv", "ConvTranspose") for x in n.input[1:2]}
    total = sum(int(np.prod(init.dims)) * (image_size if init.name in conv else 1) for init in proto.graph.initializer)
    return max(int(total), 1)


def feature_deletion(predict: Callable, X, fill, orders: np.ndarray, target: np.ndarray, level: float, seed: int,
                     steps: int = 10) -> dict:
    """Deletion for tabular attributions: each row's features replaced by `fill` (a one-row frame of typical values)
    in the order of its attributions (most supporting the target class first), the target's probability after each
    of the first `steps` replacements; its area against random orders, the difference with an interval over the
    rows. Lower is better: an attribution that names what the model uses removes the support fastest."""
    n, F = X.shape
    k = min(steps, F)
    rng = np.random.default_rng(seed)
    total = (k + 1) * n  # the rows once per step: 0, 1, ..., k features replaced
    stacked = X.iloc[np.tile(np.arange(n), k + 1)].reset_index(drop=True)
    filled = fill.iloc[np.zeros(total, dtype=int)].reset_index(drop=True).copy()  # a deep copy: one block per dtype

    def area(order: np.ndarray) -> np.ndarray:
        removed = np.zeros((k + 1, n, F), dtype=bool)
        for s in range(1, k + 1):
            removed[s, np.arange(n)[:, None], order[:, :s]] = True
        frame = stacked.where(~pd.DataFrame(removed.reshape(total, F), columns=X.columns), filled)
        p = predict(frame)[np.arange(total), np.tile(target, k + 1)]
        y = p.reshape(k + 1, n).T
        return ((y[:, 1:] + y[:, :-1]) / 2).mean(axis=1)

    ours = area(orders)
    random = np.mean([area(np.argsort(rng.random((n, F)), axis=1)) for _ in range(RANDOM_ORDERS)], axis=0)
    diff, ci = mean_and_interval(ours - random, level, seed)
    return {"area": float(ours.mean()), "random_area": float(random.mean()), "difference": diff, "ci": ci,
            "features": k, "rows": n, "better": "lower", "faithful": bool(ci is not None and ci[1] < 0)}
