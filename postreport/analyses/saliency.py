"""Saliency: which input regions drive single predictions. Images (data with an image shape): occlusion maps for
every model and exact input gradients where the model allows (sklearn's MLP, linear models), for chosen examples
and averaged per class. Tabular data: an instance-by-feature attribution heat map and waterfall breakdowns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

import numpy as np
import pandas as pd

from postreport.explain import image_saliency as im
from postreport.errors import at_least
from postreport.stats.sampling import sample_rows
from postreport.explain.attributions import AttributionSettings, explained
from postreport.explain.anatomy import anatomy
from postreport.explain.gradients import input_gradient
from postreport.report.figures import Heatmap, ImageGrid, Panels, Waterfall
from postreport.run.predictions import model_classes
from postreport.report.model import Estimate, Figure, Note, Table
from postreport.analyses.base import Analysis, model
from postreport.explain.attributions import attribution_key
from postreport.planning.plan import Step, affordable

SALIENCY_SECONDS_PER_OP = 5e-10  # measured: bench_images.py, 7e9 multiply-adds of a small CNN in 3.1 s
SALIENCY_SECONDS_PER_EVAL = 2e-5  # per image the model is asked about (blending, batching)
MIN_DELETION_ROWS = 30  # the deletion check's fewest rows (its interval is over the rows)
TABULAR_DELETION_STEPS = 10  # image_saliency.feature_deletion's default: the top features replaced one at a time


@dataclass
class SaliencySettings(AttributionSettings):
    """Tabular saliency shows rows of the attributions the importance section computes; with the same attribution
    settings (the defaults) both sections share one computation."""

    window: int = 0  # images: occlusion window side in pixels; 0: about an eighth of the image side
    stride: int = 0  # images: occlusion window step; 0: the window (no overlap)
    masks: int = 0  # images: RISE masks; 0: planned from the image's and the model's size (at most 1,000)
    cells: int = 7  # images: RISE's grid of cells per side
    checks: bool = True  # images: the randomisation sanity check and deletion / insertion curves
    examples: int = 2  # per kind: most confident right, least confident, most confident wrong
    per_class: int = 15  # test images per class averaged into the class map
    rows: int = 12  # tabular: rows in the instance heat map
    features: int = 10  # tabular: features shown
    SECTION: ClassVar[str] = "saliency"

    def __post_init__(self):
        super().__post_init__()
        for key, minimum in (("window", 0), ("stride", 0), ("masks", 0), ("cells", 2), ("examples", 1),
                             ("per_class", 1), ("rows", 1), ("features", 1)):
            at_least(f"analyses.saliency.{key}", getattr(self, key), minimum)



@dataclass
class ImageSaliency:
    shape: tuple
    examples: list  # [{row, title, image, occlusion, rise, gradient or None}]
    class_maps: list  # [(label, mean image, mean occlusion map)]
    method: str
    gradient_method: Optional[str]
    window: int
    stride: int
    masks: int
    cells: int
    checks: Optional[dict] = None  # {occlusion|rise: {randomisation: [...], deletion, insertion, verdict}}
    grey: str = "gray_r"
    notes: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"kind": "image", "shape": list(self.shape), "window": self.window, "stride": self.stride,
                "masks": self.masks, "cells": self.cells, "method": self.method, "gradient": self.gradient_method,
                "examples": [{"row": e["row"], "title": e["title"]} for e in self.examples],
                "class_maps": {str(label): occ.round(5).tolist() for label, _, occ in self.class_maps},
                "checks": self.checks, "notes": list(self.notes)}


@dataclass
class TabularSaliency:
    rows: list  # [(test row, label text)]
    features: list
    matrix: np.ndarray  # rows x features: contributions
    waterfalls: list  # [{title, base, contributions: [(feature, value)], other, total}]
    method: str
    output: str
    notes: list = field(default_factory=list)
    checks: Optional[dict] = None  # {deletion: {...}}: the attributions' faithfulness (image_saliency.feature_deletion)

    def to_json(self) -> dict:
        return {"kind": "tabular", "method": self.method, "output": self.output, "features": self.features,
                "rows": [r for r, _ in self.rows], "matrix": self.matrix.tolist(),
                "waterfalls": [{**w, "contributions": [[f, float(v)] for f, v in w["contributions"]]}
                               for w in self.waterfalls], "checks": self.checks}


def pick_examples(y_idx, pred_idx, confidence, k: int) -> list:
    """(row, kind) for the k most confident right, k least confident, and k most confident wrong rows."""
    right = np.flatnonzero(y_idx == pred_idx)
    wrong = np.flatnonzero(y_idx != pred_idx)
    chosen, seen = [], set()
    for rows, kind, descending in ((right, "right, most confident", True), (np.arange(len(y_idx)), "least confident",
                                                                           False), (wrong, "wrong, most confident", True)):
        order = rows[np.argsort(-confidence[rows] if descending else confidence[rows], kind="mergesort")]
        for r in order:
            if len([c for c in chosen if c[1] == kind]) == k:
                break
            if r not in seen:
                chosen.append((int(r), kind))
                seen.add(int(r))
    return chosen


def check_verdict(entry: dict) -> str:
    """A method explains the model when its maps change once every weight is randomised (the last stage of the
    cascade: its interval not above the SIMILAR correlation) and deletion or insertion beats random order (its
    interval); each failure is named. The top-layer stage is shown, not judged: re-drawing a readout layer alone can
    rescale a map without reordering it."""
    failed = []
    if entry.get("randomisation") and entry["randomisation"][-1]["barely_changed"]:
        failed.append("its maps barely change when every weight of the model is randomised")
    if not (entry["deletion"]["faithful"] or entry["insertion"]["faithful"]):
        failed.append("removing or revealing its most salient pixels first is not clearly better than random order")
    return "passes" if not failed else "fails: " + "; ".join(failed)


def columns_of(model, data) -> list:
    """The model's probability column of each of the data's labels."""
    classes = model_classes(model)
    return [classes.index(label) for label in data.labels]


def label_probabilities(model, data):
    """rows (a frame, or flat arrays of the test columns) -> the model's probabilities in the data's label order."""
    order, columns = columns_of(model, data), list(data.X_test.columns)

    def predict(rows):
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=columns)
        return np.asarray(model.predict_proba(frame))[:, order]

    return predict


DELETION_ROWS = 200  # tabular deletion check: at most these explained rows ((steps + 1) x 4 predictions each), fewer
# where the plan finds them past a third of max_seconds (hundreds of classes)
CHECKS_CAPTION = (
    "Can these maps be trusted? Randomisation (Adebayo et al., 2018): the maps of copies of the model with re-drawn "
    "weights against the real maps, mean |Spearman correlation| over the {examples} examples with a bootstrap "
    "interval; an interval above {similar:g} with every layer randomised means the maps barely change, so they do "
    "not explain the model (the top-layer stage is shown, not judged: re-drawing a readout alone may rescale a map "
    "without reordering it). Deletion / insertion (Petsiuk et al., 2018): the area under the predicted class's "
    "probability as the most salient pixels are removed (lower is better) or revealed from the mean image (higher "
    "is better), minus the same in random order, with its interval.")


class SaliencyAnalysis(Analysis):
    name = "saliency"
    title = "Saliency"
    lead = "Which parts of the input drive single predictions."
    Settings = SaliencySettings

    needs = (model("saliency"),)

    def plan(self, plan, settings) -> list:
        return image_plan(plan, settings) if plan.shape.image_pixels else tabular_plan(plan, settings)

    def skip_reason(self, ctx, settings) -> Optional[str]:
        if ctx.data.image_shape and ctx.data.task == "regression":
            return "Image saliency here explains class probabilities; this is a regression task."
        if ctx.data.image_shape and ctx.encoded.proba is None:
            return "The model gives no probabilities to measure the occlusion effect on."
        return None

    def compute(self, ctx, settings: SaliencySettings):
        if ctx.data.image_shape:
            return self._images(ctx, settings)
        return self._tabular(ctx, settings)

    # ---------------------------------------------------------------- images
    def _images(self, ctx, settings) -> ImageSaliency:
        data, enc, model = ctx.data, ctx.encoded, ctx.model.estimator
        shape = tuple(data.image_shape)
        channels = getattr(data, "channels", 1)
        X = data.X_test.to_numpy(dtype=float)
        images = im.Images(shape, channels, (data.X_train if data.X_train is not None else data.X_test)
                           .to_numpy(dtype=float).mean(axis=0))
        predict = label_probabilities(model, data)
        window = settings.window or max(1, shape[0] // 8)
        stride = settings.stride or window
        confidence = enc.proba.max(axis=1)
        chosen = pick_examples(enc.y_idx, enc.pred_idx, confidence, settings.examples)
        rows = np.array([r for r, _ in chosen])
        target = enc.pred_idx[rows]
        planned = ctx.plan.sizes.get("saliency.masks") if ctx.plan is not None else None
        masks = settings.masks or planned or im.plan_masks(shape[0] * shape[1] * channels * 128, len(rows))
        explain = {"occlusion": lambda p: im.occlusion(p, images, X[rows], target, window, stride),
                   "rise": lambda p: im.rise(p, images, X[rows], target, masks, settings.cells, ctx.seed)}
        maps = {name: f(predict) for name, f in explain.items()}
        an = anatomy(model)
        grad = input_gradient(an, X[rows], np.array([columns_of(model, data)[t] for t in target])) \
            if channels == 1 else None
        examples = []
        for i, (row, kind) in enumerate(chosen):
            short = {"least confident": "unsure"}.get(kind.split(",")[0], kind.split(",")[0])
            title = (f"{short} ({confidence[row]:.0%})\n"
                     f"true {data.labels[enc.y_idx[row]]} → {data.labels[enc.pred_idx[row]]}")
            examples.append({"row": row, "title": title, "image": im.display(X[row], shape, channels),
                             "occlusion": maps["occlusion"][i], "rise": maps["rise"][i],
                             "gradient": None if grad is None else (grad[i] * X[row]).reshape(shape)})
        class_maps = []
        rng = np.random.default_rng(ctx.seed)
        for k, label in enumerate(data.labels):
            members = np.flatnonzero(enc.y_idx == k)
            if len(members) == 0:
                continue
            members = rng.choice(members, min(settings.per_class, len(members)), replace=False)
            occ = im.occlusion(predict, images, X[members], np.full(len(members), k), window, stride)
            class_maps.append((label, np.mean([im.display(x, shape, channels) for x in X[members]], axis=0),
                               occ.mean(axis=0)))
        gradient_method = None if grad is None else f"exact input gradient × input ({type(an.final).__name__})"
        result = ImageSaliency(shape, examples, class_maps,
                               f"occlusion: the drop in the predicted class's probability when a {window}×{window} "
                               f"window (step {stride}) is replaced by the mean training image; RISE: {masks} random "
                               f"masks on a {settings.cells}×{settings.cells} grid", gradient_method, window, stride,
                               masks, settings.cells, grey="gray" if channels == 3 else "gray_r")
        if settings.checks:
            result.checks = self._checks(ctx, model, explain, maps, predict, images, X[rows], target, result)
        return result

    @staticmethod
    def _checks(ctx, model, explain, maps, predict, images, rows, target, result) -> dict:
        """The randomisation sanity check and the deletion / insertion curves of each method (image_saliency)."""
        level = ctx.cfg.bootstrap.level
        copies = im.randomised_copies(model, ctx.seed + 7)
        if copies is None:
            result.notes.append("No randomisation check: this model's weights cannot be re-drawn here (an ONNX "
                                "model with the onnx package, or a scikit-learn MLP or linear model).")
        out = {}
        for k, (name, f) in enumerate(explain.items()):
            entry = {"randomisation": None if copies is None else im.randomisation_check(
                lambda m: f(label_probabilities(m, ctx.data)), copies, maps[name], level, ctx.seed + 10 * k)}
            entry.update(im.deletion_insertion(predict, images, rows, target, maps[name], level, ctx.seed + 10 * k))
            entry["verdict"] = check_verdict(entry)
            out[name] = entry
        return out

    # ---------------------------------------------------------------- tabular
    def _tabular(self, ctx, settings) -> TabularSaliency:
        data, model = ctx.data, ctx.model.estimator
        attr = explained(ctx, ctx.model, settings)
        values = attr.values
        attributed = attr.rows
        columns = list(data.X_test.columns)
        bases = np.full(len(attributed), float(np.mean(attr.base)))
        output = attr.output
        if values.ndim == 3:  # multiclass: each row's contributions towards its predicted class
            classes = model_classes(model)
            predicted = np.array([classes.index(p) for p in ctx.predictions.y_pred[attributed]])
            values = values[np.arange(len(attributed)), :, predicted]
            bases = np.asarray(attr.base)[predicted]
            output = "the predicted class's " + ("probability" if not attr.exact else "raw score")
        picks = self._rows(ctx, attributed, settings.rows)
        top = np.argsort(-np.abs(values).mean(axis=0), kind="mergesort")[: settings.features]
        position = {r: i for i, r in enumerate(attributed)}
        matrix = np.array([values[position[r], top] for r, _ in picks])
        waterfalls = []
        for r, label in picks[:1] + [p for p in picks if " wrong" in p[1]][:1]:
            v = values[position[r]]
            order = np.argsort(-np.abs(v), kind="mergesort")
            shown = order[:8]
            base = float(bases[position[r]])
            waterfalls.append({"title": label, "base": base,
                               "contributions": [(columns[j], v[j]) for j in shown],
                               "other": float(v[order[8:]].sum()), "total": float(v.sum()) + base})
        result = TabularSaliency(picks, [columns[j] for j in top], matrix, waterfalls, attr.method, output)
        if settings.checks and data.task != "regression" and ctx.encoded.proba is not None:
            result.checks = {"deletion": self._deletion(ctx, model, attr, values, attributed)}
        return result

    @staticmethod
    def _deletion(ctx, model, attr, values, rows) -> dict:
        """The deletion check on the explained rows: features in the order of their attribution towards the
        predicted class (binary contributions are towards the positive class: negated where it is not predicted)."""
        data, enc = ctx.data, ctx.encoded
        source = data.X_train if data.X_train is not None else data.X_test
        fill = pd.DataFrame([{c: (source[c].mode().iloc[0] if isinstance(source[c].dtype, pd.CategoricalDtype)
                                  else source[c].mean()) for c in source.columns}]).astype(source.dtypes.to_dict())
        planned = (ctx.plan.sizes.get("saliency.deletion_rows") if ctx.plan is not None else None) or DELETION_ROWS
        picked = sample_rows(len(rows), planned, ctx.seed + 5)  # a seeded sample of the explained rows
        rows, values = rows[picked], values[picked]
        target = enc.pred_idx[rows]
        towards = values.copy()
        if data.task == "binary" and values.ndim == 2:
            towards = np.where((target == enc.positive_idx)[:, None], values, -values)
        order = np.argsort(-towards, axis=1, kind="mergesort")
        found = im.feature_deletion(label_probabilities(model, data), data.X_test.iloc[rows].reset_index(drop=True),
                                    fill, order, target, ctx.cfg.bootstrap.level, ctx.seed)
        return {**found, "explained_rows": len(attr.rows)}

    @staticmethod
    def _rows(ctx, explained: np.ndarray, count: int) -> list:
        """Rows to show: most confident right and wrong, closest to the decision (classification); largest and
        smallest errors (regression); all among the explained rows."""
        third = max(1, count // 3)
        if ctx.data.task == "regression":
            error = np.abs(ctx.predictions.y_pred - ctx.predictions.y_true)[explained]
            order = np.argsort(-error, kind="mergesort")
            return ([(int(explained[i]), f"#{explained[i]} error {error[i]:.3g}") for i in order[: count // 2]]
                    + [(int(explained[i]), f"#{explained[i]} error {error[i]:.3g}")
                       for i in order[::-1][: count - count // 2]])
        enc = ctx.encoded
        picks = pick_examples(enc.y_idx[explained], enc.pred_idx[explained],
                              (enc.proba.max(axis=1) if enc.proba is not None else np.ones(len(enc.y_idx)))[explained],
                              third)
        labels = ctx.data.labels
        short = {"right, most confident": "right", "least confident": "unsure", "wrong, most confident": "wrong"}
        return [(int(explained[i]), f"#{explained[i]} {short[kind]}: {labels[enc.y_idx[explained[i]]]}→"
                                    f"{labels[enc.pred_idx[explained[i]]]}") for i, kind in picks]

    # ---------------------------------------------------------------- report items
    def items(self, r) -> list:
        if isinstance(r, ImageSaliency):
            return self._image_items(r)
        heat = Figure(Heatmap(r.matrix, x_labels=r.features, y_labels=[label for _, label in r.rows],
                              title="Attribution per row and feature", xlabel="feature", ylabel="",
                              annotations=[[f"{v:.2g}" for v in row] for row in r.matrix], cmap="RdBu_r",
                              center=0.0, colorbar_label="contribution"),
                      caption=f"Contributions ({r.method}) to {r.output}, for chosen test rows (#row: true→predicted; "
                              "right and wrong: the most confident; unsure: closest to the decision): red pushes the "
                              "output up, blue down.")
        items = [heat]
        d = (r.checks or {}).get("deletion")
        if d:
            verdict = ("faster than in random order: the attributions name what the model uses" if d["faithful"] else
                       "not clearly faster than in random order: the attributions may not name what the model uses")
            ci = f" [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]" if d["ci"] else ""
            of = (f", a seeded sample of the {d['explained_rows']:,} explained rows,"
                  if d.get("explained_rows", d["rows"]) > d["rows"] else "")
            items.append(Note(f"Deletion check (Petsiuk et al., 2018, for features): replacing the top {d['features']} "
                              f"features of each of {d['rows']} rows{of} by typical values (mean, or most frequent "
                              "category), most supporting first, lowers the predicted class's probability "
                              f"{verdict} (area {d['area']:.3f} against {d['random_area']:.3f}; difference "
                              f"{d['difference']:+.3f}{ci}).", "info" if d["faithful"] else "warning"))
        if r.waterfalls:
            items.append(Figure(Panels([Waterfall(w["title"], w["contributions"], w["other"], w["base"], w["total"])
                                        for w in r.waterfalls], height=3.0),
                                caption="How single predictions are built: from the expected output (base), each "
                                        "feature's contribution, the rest summed as 'other features'."))
        return items

    @staticmethod
    def _image_items(r: ImageSaliency) -> list:
        images, titles = [e["image"] for e in r.examples], [e["title"] for e in r.examples]
        columns = min(6, len(images))
        why = ("Examples: the most confident right, the least confident (unsure), and the most confident wrong "
               "predictions (confidence in brackets). Each map is scaled to its own largest value.")
        items = [Figure(ImageGrid(images, titles, [e["occlusion"] for e in r.examples], columns=columns,
                                  grey=r.grey),
                        caption=f"Occlusion saliency: the drop in the predicted class's probability when a "
                                f"{r.window}×{r.window} window (step {r.stride}) covering the pixel is replaced by "
                                "the mean training image; red marks pixels whose hiding lowers it, blue raises it. "
                                + why),
                 Figure(ImageGrid(images, titles, [e["rise"] for e in r.examples], columns=columns, grey=r.grey),
                        caption=f"RISE saliency: the predicted class's probability over {r.masks} random masks "
                                f"({r.cells}×{r.cells} cells, half kept, blended with the mean image), weighted by "
                                "how much each mask keeps the pixel, minus its mean: red, the pixel raises it.")]
        if r.gradient_method:
            items.append(Figure(ImageGrid(images, titles, [e["gradient"] for e in r.examples], columns=columns,
                                          grey=r.grey),
                                caption=f"Gradient saliency ({r.gradient_method}) of the predicted class's "
                                        "probability, for the same images."))
        items.append(Figure(ImageGrid([m for _, m, _ in r.class_maps], [f"class {label}" for label, _, _ in
                                                                        r.class_maps],
                                      [o for _, _, o in r.class_maps], columns=min(10, len(r.class_maps)),
                                      grey=r.grey),
                            caption="Mean occlusion map per class, over test images of the class (target: the true "
                                    "class), drawn over the class's mean image."))
        if r.checks:
            rows = []
            for method, c in r.checks.items():
                randomised = {x["randomised"]: x for x in c["randomisation"] or []}
                rows.append([method,
                             *[Estimate(randomised[k]["rank_correlation"], randomised[k]["ci"]) if k in randomised
                               else "n/a" for k in ("top layer", "all layers")],
                             Estimate(c["deletion"]["difference"], c["deletion"]["ci"]),
                             Estimate(c["insertion"]["difference"], c["insertion"]["ci"]), c["verdict"]])
            items.append(Table(["Method", "Rank correlation, top layer randomised",
                                "Rank correlation, all layers randomised", "Deletion area − random",
                                "Insertion area − random", "Verdict"], rows, caption=CHECKS_CAPTION.format(
                                    examples=len(r.examples), similar=im.SIMILAR)))
        return items + [Note(n) for n in r.notes]


def image_plan(plan, settings) -> list:
    """Image data: RISE's masks from the model's size and the examples (never from the clock), and the work of the
    maps and their checks: occlusion windows and masks per example, the class maps, the randomised copies and the
    deletion / insertion curves."""
    shape = plan.shape
    examples = min(shape.n_test, 3 * settings.examples)
    masks = settings.masks or im.plan_masks(shape.model_ops, examples)
    side = int(shape.image_pixels ** 0.5)
    window = settings.window or max(1, side // 8)
    windows = (-(-side // (settings.stride or window))) ** 2
    per_example = windows + masks
    evals = (examples * per_example * (1 + (2 if settings.checks else 0))
             + max(shape.n_classes, 1) * settings.per_class * windows
             + (examples * 2 * 2 * (im.STEPS + 1) * (1 + im.RANDOM_ORDERS) if settings.checks else 0))
    seconds = evals * (shape.model_ops * SALIENCY_SECONDS_PER_OP + SALIENCY_SECONDS_PER_EVAL)
    plan.sizes["saliency.masks"] = masks
    return [Step("saliency", f"occlusion ({windows} windows) and RISE ({masks} masks) maps of {examples} examples, "
                 "class maps" + (", randomisation and deletion checks" if settings.checks else ""), seconds,
                 rows=examples, repeats=masks,
                 why="" if settings.masks else f"masks from the model's {shape.model_ops:,} multiply-adds per image")]


def tabular_plan(plan, settings) -> list:
    """Tabular saliency: the attributions (shared with feature importance when it runs with the same settings, so
    planned there) and the deletion check's predictions: (steps + 1) frames of DELETION_ROWS rows, in the
    attributions' order and RANDOM_ORDERS random ones."""
    shape, cost = plan.shape, plan.cost
    F, K = max(shape.n_features, 1), shape.n_classes
    rows = plan.rows_for(settings)
    seconds = rows["attribution_seconds"] if plan.once(attribution_key(settings)) else 0.0
    checked = settings.checks and shape.task != "regression"
    why = ""
    if checked:
        frames = (min(TABULAR_DELETION_STEPS, F) + 1) * (1 + im.RANDOM_ORDERS)  # predictions per row
        wanted = min(rows["attributions"], DELETION_ROWS)
        third = None if settings.max_seconds is None else settings.max_seconds / 3
        deletion = affordable(lambda r: cost.predict_seconds(frames * r, F, K), wanted, third,
                              min(MIN_DELETION_ROWS, wanted))
        plan.sizes["saliency.deletion_rows"] = deletion
        seconds += cost.predict_seconds(frames * deletion, F, K)
        if deletion < wanted:
            why = (f"the deletion check on {deletion:,} of {wanted:,} rows, sized to a third of "
                   f"analyses.saliency.max_seconds={settings.max_seconds:g}")
    return [Step("saliency", "attribution heat map and waterfalls" + (
        f", the deletion check on {plan.sizes['saliency.deletion_rows']:,} rows" if checked else ""), seconds,
        rows=rows["attributions"], why=why)]
