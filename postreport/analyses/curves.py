"""ROC and precision-recall curves: binary, or one-vs-rest per class with micro and macro averages."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.report.figures import Lines, Marker, Panels, Series
from postreport.report.model import Figure, Table, print_selection, undefined_last
from postreport.stats.sampling import cap_points
from postreport.stats.curves import auc, average_precision, roc_and_pr
from postreport.analyses.base import Analysis, classes, probabilities, two_classes
from postreport.planning.plan import Step

GRID = np.linspace(0, 1, 201)
MANY_CLASSES = 6
AVERAGES = ("micro average", "macro average")
CLASS_POINTS = 20_000  # points of all the per-class curves of one kind together
MIN_CLASS_POINTS = 40


@dataclass
class CurveSettings:
    max_points: int = 1000  # per curve in the payload and the figures, however large the test set


@dataclass
class Curve:
    x: list
    y: list
    area: Optional[float]
    thresholds: Optional[list] = None  # binary: the score threshold of each point (None: no threshold)

    def to_json(self, x_name: str, y_name: str, area_name: str) -> dict:
        return {x_name: list(map(float, self.x)), y_name: list(map(float, self.y)), area_name: self.area}


@dataclass
class CurvesResult:
    roc: dict  # name -> Curve (fpr, tpr, auc)
    pr: dict  # name -> Curve (recall, precision, average precision)
    prevalence: dict  # name -> share of positives (the PR baseline)
    operating_point: Optional[dict] = None  # binary: the model's own labels as a point on each curve
    max_points: int = 1000
    class_names: list = field(default_factory=list)
    class_points: Optional[int] = None  # many classes: each class's curves capped lower than max_points

    def to_json(self) -> dict:
        return {
            "roc": {k: c.to_json("fpr", "tpr", "auc") for k, c in self.roc.items()},
            "pr": {k: c.to_json("recall", "precision", "average_precision") for k, c in self.pr.items()},
            "prevalence": self.prevalence,
            "operating_point": self.operating_point,
            "max_points": self.max_points,
            "class_points": self.class_points,
        }


def _finite(thresholds) -> list:
    return [float(t) if np.isfinite(t) else None for t in thresholds]


def binary_curves(y, score, pred, cap: int, weight=None, ascending=None) -> CurvesResult:
    """weight: rows per entry (aggregated input: each entry a cell of rows whose scores share a bin); ascending: the
    rows in ascending score order (sorted once per run: Encoded.score_order)."""
    (fpr, tpr, roc_t), pr_curve = roc_and_pr(y, score, weight, ascending)
    precision, recall, pr_t = pr_curve
    full_auc = float(auc(fpr, tpr))
    fpr, tpr, roc_t = cap_points(cap, fpr, tpr, roc_t)
    recall, precision, pr_t = cap_points(cap, recall[::-1], precision[::-1], np.r_[np.inf, pr_t[::-1]])
    w = np.ones(len(y)) if weight is None else weight
    tp, fp = int(round(np.dot(w, (pred == 1) & (y == 1)))), int(round(np.dot(w, (pred == 1) & (y == 0))))
    P = int(round(np.dot(w, y)))
    N = int(round(w.sum())) - P
    point = {"fpr": fp / N if N else None, "tpr": tp / P if P else None,
             "recall": tp / P if P else None, "precision": tp / (tp + fp) if tp + fp else None}
    return CurvesResult(
        roc={"positive": Curve(fpr, tpr, full_auc, _finite(roc_t))},
        pr={"positive": Curve(recall, precision, average_precision(y, score, curve=pr_curve),
                              _finite(pr_t))},
        prevalence={"positive": P / (P + N)}, operating_point=point, max_points=cap,
    )


def multiclass_curves(y_idx, proba, labels, cap: int) -> CurvesResult:
    K = proba.shape[1]
    onehot = (y_idx[:, None] == np.arange(K)[None, :]).astype(int)
    columns = np.ascontiguousarray(proba.T)  # each class's scores in one block: one sort each, shared by its curves
    # the per-class curves share CLASS_POINTS points (500 classes: 40 each, thin grey lines; 7.6 MB of figure JSON
    # and 35 MB of metrics.json at 1,000 each); the averages keep `cap`
    class_cap = min(cap, max(MIN_CLASS_POINTS, CLASS_POINTS // K))
    roc, pr, prevalence = {}, {}, {}
    tprs, precisions = [], []
    for k in range(K):
        name = str(labels[k])
        positive = onehot[:, k]
        if positive.sum() == 0:
            continue  # a class absent from the test set has no curve
        order = np.argsort(columns[k], kind="mergesort")
        (fpr, tpr, _), curve = roc_and_pr(positive, columns[k], ascending=order)
        precision, recall, _ = curve
        tprs.append(np.interp(GRID, fpr, tpr))
        precisions.append(np.interp(GRID, recall[::-1], precision[::-1]))
        roc[name] = Curve(*cap_points(class_cap, fpr, tpr), auc(fpr, tpr))
        pr[name] = Curve(*cap_points(class_cap, recall[::-1], precision[::-1]),
                         average_precision(None, None, curve=curve))
        prevalence[name] = float(positive.mean())
    flat_y, flat_score = onehot.ravel(), proba.ravel()
    order = np.argsort(flat_score, kind="mergesort")
    (fpr, tpr, _), curve = roc_and_pr(flat_y, flat_score, ascending=order)
    precision, recall, _ = curve
    present = onehot.sum(axis=0) > 0
    roc["micro average"] = Curve(*cap_points(cap, fpr, tpr), auc(fpr, tpr))
    roc["macro average"] = Curve(GRID, np.mean(tprs, axis=0), float(np.mean([c.area for c in roc.values()][:-1])))
    pr["micro average"] = Curve(*cap_points(cap, recall[::-1], precision[::-1]),
                                average_precision(None, None, curve=curve))
    pr["macro average"] = Curve(GRID, np.mean(precisions, axis=0),
                                float(np.mean([c.area for c in pr.values()][:-1])))
    prevalence["micro average"] = prevalence["macro average"] = float(1 / max(int(present.sum()), 1))
    return CurvesResult(roc=roc, pr=pr, prevalence=prevalence, max_points=cap, class_names=list(map(str, labels)),
                        class_points=class_cap if class_cap < cap else None)


class CurvesAnalysis(Analysis):
    name = "curves"
    aggregated = True
    title = "ROC and precision-recall curves"
    lead = "How well the scores rank positives above negatives, at every possible threshold."
    Settings = CurveSettings

    needs = (classes("ROC and precision-recall curves need"),
             probabilities("The model gives no probabilities (or not for every class), so there are no curves."),
             two_classes("The test set holds one class only; the curves are undefined."))
    quick = True

    def plan(self, plan, settings) -> list:
        K = plan.shape.n_classes
        if K <= 2 or not plan.once("class rankings"):
            return []
        return [Step("class rankings", f"one-vs-rest curves and areas of each of the {K:,} classes",
                     plan.ranking_seconds(), rows=plan.shape.n_test)]

    def compute(self, ctx, settings: CurveSettings) -> CurvesResult:
        enc = ctx.encoded
        if ctx.data.task == "binary":
            return binary_curves(enc.y_bin, enc.score, enc.pred_bin, settings.max_points, enc.weight,
                                 enc.score_order)
        return multiclass_curves(enc.y_idx, enc.proba, ctx.data.labels, settings.max_points)

    def items(self, r: CurvesResult) -> list:
        many = len(r.roc) - 2 > MANY_CLASSES
        roc_series, pr_series = _series(r.roc, "AUC", many), _series(r.pr, "AP", many)
        roc_markers, pr_markers = [], []
        if r.operating_point and r.operating_point["fpr"] is not None:
            op = r.operating_point
            roc_markers.append(Marker(op["fpr"], op["tpr"], "model's labels"))
            if op["precision"] is not None:
                pr_markers.append(Marker(op["recall"], op["precision"], "model's labels"))
        if len(r.roc) == 1:  # binary: the legend would only repeat the title
            roc_series[0].label = pr_series[0].label = ""
        name = next(iter(r.roc))
        roc_title = f"ROC (AUC {r.roc[name].area:.3f})" if len(r.roc) == 1 else "ROC, one-vs-rest"
        pr_title = f"Precision-recall (AP {r.pr[name].area:.3f})" if len(r.pr) == 1 else "Precision-recall"
        figure = Figure(Panels([
            Lines(roc_series, roc_title, "False positive rate", "True positive rate", (0, 1), (0, 1.02),
                  diagonal=True, markers=roc_markers),
            Lines(pr_series, pr_title, "Recall", "Precision", (0, 1), (0, 1.02), markers=pr_markers),
        ], height=3.3), caption=self._caption(r, many))
        rows = [[name, r.roc[name].area, r.pr[name].area, r.prevalence[name]] for name in r.roc]
        # many classes: the PDF prints the averages and the classes ranked worst
        averages = [k for k, name in enumerate(r.roc) if name in AVERAGES]
        worst = sorted((k for k in range(len(rows)) if k not in averages), key=lambda k: undefined_last(rows[k][1]))
        table = Table(["Curve", "ROC AUC", "Average precision", "Prevalence (PR baseline)"], rows,
                      caption="Areas under the curves; a random ranking scores 0.5 ROC AUC and the prevalence "
                              "as average precision.", percent_columns=[3],
                      print_rows=print_selection(averages + worst, len(rows)),
                      print_why="the averages and the classes with the lowest ROC AUC")
        return [figure, table]

    @staticmethod
    def _caption(r: CurvesResult, many: bool) -> str:
        text = ("Dotted: a random ranking. " if len(r.roc) == 1 else
                "One curve per class against the rest; dashed: micro average (every decision pooled) and macro "
                "average (classes weighted equally). ")
        if many:
            text += "With this many classes the per-class curves are drawn thin and unlabelled. "
        if r.operating_point:
            text += "The dot is the model's own labels (its default threshold). "
        return text + f"Curves are capped at {r.max_points} points" + (
            f" (each class's at {r.class_points})." if r.class_points else ".")


def _series(curves: dict, area: str, many: bool) -> list:
    series = []
    for name, curve in curves.items():
        averaged = name.endswith("average")
        if many and not averaged:
            series.append(Series(curve.x, curve.y, "", color="#b8c0cc", thin=True))
        else:
            hover = None if curve.thresholds is None else [
                "threshold: above every score" if t is None else f"threshold {t:.4g}" for t in curve.thresholds]
            series.append(Series(curve.x, curve.y, f"{name} ({area} {curve.area:.3f})",
                                 "dashed" if averaged else "line", hover=hover))
    return series
