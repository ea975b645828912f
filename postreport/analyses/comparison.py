"""Comparison with the baseline (compare.baseline): both models on the same rows, matched by key; every metric's
difference (current - baseline) with a paired bootstrap interval and a verdict; DeLong's test for ROC AUC, the exact
McNemar test for accuracy; where it changed: per slice, the rows that flipped, the threshold cost."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.stats import metrics
from postreport.run.baseline import describe_rows
from postreport.stats.bootstrap import Cells, interval_level, intervals_on, resample_counts
from postreport.stats.encoding import encode
from postreport.errors import at_least
from postreport.report.figures import Bars
from postreport.stats.paired import UNCLEAR, delong, difference_interval, mcnemar, mean_interval, verdict
from postreport.report.model import Estimate, Figure, Note, Paragraph, Table
from postreport.stats.sampling import sample_rows
from postreport.stats.calibration import bin_edges, reliability
from postreport.stats.counts import f1_from_counts
from postreport.stats.groups import slice_groups
from postreport.analyses.base import Analysis


@dataclass
class ComparisonSettings:
    flipped_rows: int = 10  # rows shown of those whose correctness flipped (a seeded sample)

    def __post_init__(self):
        at_least("analyses.comparison.flipped_rows", self.flipped_rows, 0)


@dataclass
class ComparisonResult:
    baseline: str
    current: str
    rows_text: str
    paired: bool
    matched: int
    only_current: int
    only_baseline: int
    level: Optional[float]
    metrics: list  # [{name, label, baseline, current, diff, diff_ci, verdict}]
    delong: Optional[dict] = None
    mcnemar: Optional[dict] = None
    flips: Optional[dict] = None  # {right_to_wrong, wrong_to_right, columns, sample}
    slices: list = field(default_factory=list)  # [{column, value, n, metric, baseline, current, diff, diff_ci, verdict}]
    cost: Optional[dict] = None  # binary: {fp, fn, baseline, current, diff, diff_ci, verdict}
    calibration: Optional[dict] = None  # binary: expected calibration error {current, baseline, diff, bins, strategy}
    notes: list = field(default_factory=list)

    def gate_values(self) -> dict:
        """`<metric>_diff` -> (difference, interval): what gates on differences judge."""
        return {f"{m['name']}_diff": (m["diff"], m["diff_ci"]) for m in self.metrics}

    def values(self) -> dict:
        """`<metric>_diff` -> difference and `<metric>_diff_ci` -> interval (for gates and metrics.json)."""
        out = {}
        for m in self.metrics:
            out[f"{m['name']}_diff"] = m["diff"]
            out[f"{m['name']}_diff_ci"] = m["diff_ci"]
        return out

    def headline(self) -> Optional[str]:
        decided = [m for m in self.metrics if m["verdict"] not in (None, UNCLEAR)]
        first = self.metrics[0] if self.metrics else None
        if first is None:
            return None
        text = (f"Against the baseline {self.baseline!r}: {first['label']} {_signed(first['diff'])} "
                f"({first['verdict'] or 'no interval'})")
        if decided:
            text += "; " + ", ".join(f"{m['label']} {m['verdict']}" for m in decided[:4])
        return text + "."

    def to_json(self) -> dict:
        return {"baseline": self.baseline, "paired": self.paired, "matched_rows": self.matched,
                "only_current": self.only_current, "only_baseline": self.only_baseline, "level": self.level,
                "metrics": {m["name"]: {k: m[k] for k in ("baseline", "current", "diff", "diff_ci", "verdict")}
                            for m in self.metrics},
                **self.values(), "delong": self.delong, "mcnemar": self.mcnemar,
                "flipped": None if self.flips is None else {k: self.flips[k] for k in
                                                            ("right_to_wrong", "wrong_to_right")},
                "slices": self.slices, "threshold_cost": self.cost, "calibration": self.calibration}


def _signed(value) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


class ComparisonAnalysis(Analysis):
    name = "comparison"
    implied_by = "compare.baseline"  # a baseline is compared first, whether or not report.analyses names it
    title = "Comparison with the baseline"

    def offers_gate(self, name: str) -> bool:
        return name.endswith("_diff")
    lead = "Is this model better than the baseline on the same rows? Paired differences with intervals."
    Settings = ComparisonSettings

    def skip_reason(self, ctx, settings) -> Optional[str]:
        if getattr(ctx, "baseline", None) is None:
            return "No baseline to compare with: set compare.baseline=PATH (a previous run's folder or a predictions file)."
        return None

    def compute(self, ctx, settings: ComparisonSettings) -> ComparisonResult:
        b, data, task = ctx.baseline, ctx.data, ctx.data.task
        boot = ctx.cfg.bootstrap
        seed = ctx.bootstrap_seed
        cur, cur_enc = ctx.predictions, ctx.encoded
        base = b.predictions
        base_enc = None if task == "regression" else encode(data, base)
        result = ComparisonResult(b.name, ctx.model.name, describe_rows(b), b.paired, b.matched, b.only_current,
                                  b.only_baseline, interval_level(boot), [])
        rows = b.rows
        if b.paired:
            cur_point = metrics.point_metrics(data, cur, cur_enc, rows=rows)
            base_point = metrics.point_metrics(data, base, base_enc)
            interval = self._paired(ctx, cur, cur_enc, base, base_enc, rows, np.arange(len(rows)), seed)
            if interval.scale < 1:
                result.notes.append(
                    f"The paired intervals resample a seeded sample of {interval.drawn:,} of the {len(rows):,} matched "
                    f"rows and are scaled to all of them (m-out-of-n bootstrap: the spread × √({interval.drawn:,}/"
                    f"{len(rows):,})); the differences themselves use every matched row.")
        else:
            cur_point = metrics.point_metrics(data, cur, cur_enc)
            base_point = metrics.point_metrics(data, base, base_enc)
            interval = _DiffIntervals(metrics.intervals(task, cur, cur_enc, boot, seed),  # independent resamples
                                      metrics.intervals(task, base, base_enc, boot, seed + 1), boot.level)
        names = metrics.TASKS[task]
        for name in dict.fromkeys(names.headline + names.all):  # the headline metrics first
            c, v = cur_point.values.get(name), base_point.values.get(name)
            diff = None if c is None or v is None else c - v
            ci = None if diff is None else interval.ci(name, diff)
            result.metrics.append({"name": name, "label": metrics.label(name), "baseline": v, "current": c,
                                   "diff": diff, "diff_ci": ci,
                                   "verdict": verdict(ci, metrics.METRICS[name].higher_is_better)})
        if task != "regression":
            self._tests(result, data, cur_enc, base_enc, rows if b.paired else None)
            if b.paired:
                self._flips(result, ctx, cur_enc, base_enc, rows, settings, seed)
                self._slices(result, ctx, cur, cur_enc, base, base_enc, rows, seed)
                if task == "binary":
                    self._cost(result, ctx, cur_enc, base_enc, rows, seed)
                    self._calibration(result, ctx, cur, cur_enc, base, base_enc, rows)
        elif b.paired:
            self._slices(result, ctx, cur, cur_enc, base, base_enc, rows, seed)
        return result

    @staticmethod
    def _paired(ctx, cur, cur_enc, base, base_enc, rows, positions, seed, scores: bool = True) -> _DiffIntervals:
        """Paired resamples of the matched rows at `positions`: all of them up to bootstrap.max_exact_rows, else a
        seeded sample of that many, whose spread is scaled to all of them (m-out-of-n bootstrap)."""
        data, task, boot = ctx.data, ctx.data.task, ctx.cfg.bootstrap
        drawn = positions[sample_rows(len(positions), boot.max_exact_rows, seed)]
        out = _DiffIntervals(
            metrics.intervals(task, cur, cur_enc, boot, seed, rows=rows[drawn], scores=scores, paired=True),
            metrics.intervals(task, base, base_enc, boot, seed, rows=drawn, scores=scores, paired=True),
            boot.level, math.sqrt(len(drawn) / len(positions)), len(drawn))
        if out.scale < 1:
            c = metrics.point_metrics(data, cur, cur_enc, rows=rows[drawn]).values
            z = metrics.point_metrics(data, base, base_enc, rows=drawn).values
            out.centre = {k: _minus(c.get(k), z.get(k)) for k in c}
        return out

    @staticmethod
    def _tests(result, data, cur_enc, base_enc, rows) -> None:
        if rows is None:
            return
        right_cur = cur_enc.pred_idx[rows] == cur_enc.y_idx[rows]
        right_base = base_enc.pred_idx == base_enc.y_idx
        b, c, p = mcnemar(right_cur, right_base)
        result.mcnemar = {"only_current_right": b, "only_baseline_right": c, "p": p}
        if data.task == "binary" and cur_enc.score is not None and base_enc.score is not None:
            result.delong = delong(cur_enc.y_bin[rows], cur_enc.score[rows], base_enc.score)

    @staticmethod
    def _flips(result, ctx, cur_enc, base_enc, rows, settings, seed) -> None:
        right_cur = cur_enc.pred_idx[rows] == cur_enc.y_idx[rows]
        right_base = base_enc.pred_idx == base_enc.y_idx
        worse = np.flatnonzero(right_base & ~right_cur)
        better = np.flatnonzero(~right_base & right_cur)
        flipped = np.concatenate([worse, better])
        shown = np.sort(flipped[sample_rows(len(flipped), settings.flipped_rows, seed)]) if len(flipped) else flipped
        data = ctx.data
        features = list(data.X_test.columns[:5])
        sample, got_worse = [], set(worse.tolist())
        for i in shown:
            row = rows[i]
            sample.append([str(data.test_keys[row]), "right → wrong" if i in got_worse else "wrong → right",
                           str(cur_enc.labels[cur_enc.y_idx[row]]), str(base_enc.labels[base_enc.pred_idx[i]]),
                           str(cur_enc.labels[cur_enc.pred_idx[row]])]
                          + [data.X_test[f].iloc[row] for f in features])
        result.flips = {"right_to_wrong": int(len(worse)), "wrong_to_right": int(len(better)), "columns": features,
                        "sample": sample}

    @staticmethod
    def _slices(result, ctx, cur, cur_enc, base, base_enc, rows, seed) -> None:
        """The sliced section's first metric per slice (its columns and bins), paired differences from label counts."""
        data, task = ctx.data, ctx.data.task
        settings = ctx.settings_of("slices")  # sliced as the slices section slices
        main = metrics.TASKS[task].sliced[0]
        for column, value, idx in slice_groups(data, settings.by, settings.bins, settings.max_levels, rows):
            # idx: positions among the matched rows
            c = metrics.point_metrics(data, cur, cur_enc, rows=rows[idx]).values.get(main)
            v = metrics.point_metrics(data, base, base_enc, rows=idx).values.get(main)
            diff = None if c is None or v is None else c - v
            ci = None
            if diff is not None and len(idx) >= settings.min_size:
                if task == "regression":
                    ci = ComparisonAnalysis._paired(ctx, cur, cur_enc, base, base_enc, rows, idx, seed).ci(main, diff)
                else:
                    ci = _counted_ci(cur_enc, base_enc, rows[idx], idx, main, len(data.labels), ctx.cfg.bootstrap,
                                     seed)
            result.slices.append({"column": column, "value": str(value), "n": int(len(idx)), "metric": main,
                                  "baseline": v, "current": c, "diff": diff, "diff_ci": ci,
                                  "verdict": verdict(ci, metrics.METRICS[main].higher_is_better),
                                  "small": bool(len(idx) < settings.min_size)})

    @staticmethod
    def _calibration(result, ctx, cur, cur_enc, base, base_enc, rows) -> None:
        """Expected calibration error of both models on the matched rows, binned as the calibration section bins."""
        if cur_enc.score is None or base_enc.score is None or not (cur.probabilities and base.probabilities):
            return
        node = ctx.cfg.analyses.get("calibration") if ctx.cfg.analyses is not None else None
        bins, strategy = (int(node.bins), str(node.strategy)) if node is not None else (10, "uniform")
        y = cur_enc.y_bin[rows]
        values = {}
        for name, score in (("current", cur_enc.score[rows]), ("baseline", base_enc.score)):
            values[name] = reliability(score, y, bin_edges(score, bins, strategy)).ece
        result.calibration = {**values, "diff": values["current"] - values["baseline"], "bins": bins,
                              "strategy": strategy}

    @staticmethod
    def _cost(result, ctx, cur_enc, base_enc, rows, seed) -> None:
        """Expected cost per row of each model's decisions (analyses.thresholds.cost), with a paired interval."""
        node = ctx.cfg.analyses.get("thresholds") if ctx.cfg.analyses is not None else None
        fp = float(node.cost.fp) if node is not None else 1.0
        fn = float(node.cost.fn) if node is not None else 1.0
        y = cur_enc.y_bin[rows]

        def per_row(pred):
            return np.where((pred == 1) & (y == 0), fp, 0.0) + np.where((pred == 0) & (y == 1), fn, 0.0)

        cur_cost, base_cost = per_row(cur_enc.pred_bin[rows]), per_row(base_enc.pred_bin)
        diff = cur_cost - base_cost
        boot = ctx.cfg.bootstrap
        ci = None
        if intervals_on(boot):
            ci = mean_interval(diff, boot, seed)
        result.cost = {"fp": fp, "fn": fn, "baseline": float(base_cost.mean()), "current": float(cur_cost.mean()),
                       "diff": float(diff.mean()), "diff_ci": ci, "verdict": verdict(ci, False)}

    def items(self, r: ComparisonResult) -> list:
        level = f" [{r.level:.0%} CI]" if r.level else ""
        items: list = [Note(r.rows_text, "info" if r.paired else "warning")]
        rows = [[m["label"], m["baseline"], m["current"], Estimate(m["diff"], m["diff_ci"]), m["verdict"] or "n/a"]
                for m in r.metrics]
        decided = [i for i, m in enumerate(r.metrics) if m["verdict"] not in (None, UNCLEAR)]
        items.append(Table(["Metric", f"Baseline ({r.baseline})", f"Current ({r.current})", f"Difference{level}",
                            "Verdict"], rows, highlight_rows=decided,
                           caption="Difference = current − baseline; the verdict says better or worse only when the "
                                   "interval excludes 0 (for losses, lower is better)."
                                   + (" Intervals are paired: each resample draws the same rows for both models."
                                      if r.paired else " Intervals are unpaired (independent resamples).")))
        shown = [m for m in r.metrics if m["diff"] is not None]
        if shown:
            items.append(Figure(Bars([m["label"] for m in shown], [m["diff"] for m in shown],
                                     "Difference with the baseline", "current − baseline",
                                     errors=[m["diff_ci"] for m in shown], points=True),
                                caption="Each metric's difference with its interval; 0 means no change. For the "
                                        "losses (log loss, Brier, errors) a negative difference is an improvement."))
        tests = []
        if r.delong:
            tests.append(f"DeLong's paired test of ROC AUC: difference {r.delong['diff']:+.4f} (SE "
                         f"{r.delong['se']:.4f}), p = {r.delong['p']:.3g}.")
        if r.mcnemar:
            tests.append(f"Exact McNemar test of accuracy: rows only this model gets right: "
                         f"{r.mcnemar['only_current_right']:,}; only the baseline: {r.mcnemar['only_baseline_right']:,}; p = "
                         f"{r.mcnemar['p']:.3g}.")
        if tests:
            items.append(Paragraph(" ".join(tests)))
        if r.flips is not None:
            f = r.flips
            items.append(Paragraph(f"Rows that flipped: {f['right_to_wrong']:,} the baseline got right and this model "
                                   f"gets wrong; {f['wrong_to_right']:,} the other way round."))
            if f["sample"]:
                items.append(Table(["Key", "Flip", "True", "Baseline", "Current", *f["columns"]], f["sample"],
                                   caption=f"A seeded sample of {len(f['sample'])} flipped rows, with their first "
                                           "feature columns."))
        if r.slices:
            main = r.slices[0]["metric"]
            items.append(Table(["Column", "Slice", "Rows", f"Baseline {main}", f"Current {main}",
                                f"Difference{level}", "Verdict"],
                               [[s["column"], s["value"], s["n"], s["baseline"], s["current"],
                                 Estimate(s["diff"], s["diff_ci"]),
                                 "too small to trust" if s["small"] else (s["verdict"] or "n/a")] for s in r.slices],
                               caption="Per slice (the slices section's columns and bins): paired differences of "
                                       f"{main}, intervals from label counts."))
        if r.cost:
            c = r.cost
            items.append(Paragraph(f"Expected cost per row (false positive {c['fp']:g}, false negative {c['fn']:g}, "
                                   f"analyses.thresholds.cost): baseline {c['baseline']:.4f}, current "
                                   f"{c['current']:.4f}, difference {c['diff']:+.4f}"
                                   + (f" [{c['diff_ci'][0]:+.4f}, {c['diff_ci'][1]:+.4f}]" if c["diff_ci"] else "")
                                   + f" ({c['verdict'] or 'no interval'})."))
        if r.calibration:
            c = r.calibration
            items.append(Paragraph(f"Calibration: expected calibration error ({c['bins']} {c['strategy']} bins) "
                                   f"baseline {c['baseline']:.4f}, current {c['current']:.4f}, difference "
                                   f"{c['diff']:+.4f} (lower is better; the Brier score and log loss rows above "
                                   "carry the paired intervals)."))
        items += [Note(n) for n in r.notes]
        return items


def _minus(a, b):
    return None if a is None or b is None else a - b


def _counted_ci(cur_enc, base_enc, cur_rows, base_rows, metric: str, n_labels: int, boot,
                seed: int) -> Optional[list]:
    """A paired interval of a counting metric (accuracy, F1) on a slice's rows from their (true, current, baseline)
    label cells: drawing rows with replacement is drawing counts over those cells, so this is exact whatever the
    number of rows."""
    if not intervals_on(boot):
        return None
    y, a, z = cur_enc.y_idx[cur_rows], cur_enc.pred_idx[cur_rows], base_enc.pred_idx[base_rows]
    L = max(len(cur_enc.labels), len(base_enc.labels), int(max(a.max(), z.max())) + 1)
    code, count = np.unique((y * L + a) * L + z, return_counts=True)
    cy, ca, cz = code // (L * L), (code // L) % L, code % L
    # not stratified by class: within a slice a class may have a single row, which a stratified resample would
    # always draw once, leaving no spread at all
    cells = Cells(stratum=np.zeros(len(code), dtype=int), count=count, exact=False)
    n_true = n_labels if cur_enc.positive_idx is None else None
    diffs = []
    for W in resample_counts(cells, boot.resamples, seed):
        values = []
        for pred in (ca, cz):
            onehot = np.zeros((len(code), L * L))
            onehot[np.arange(len(code)), cy * L + pred] = 1
            conf = (W @ onehot).reshape(-1, L, L)
            values.append(_from_confusion(conf, metric, cur_enc.positive_idx, n_true))
        diffs.append(values[0] - values[1])
    samples = np.concatenate(diffs)
    return difference_interval(samples, np.zeros_like(samples), boot.level)


def _from_confusion(conf: np.ndarray, metric: str, positive: Optional[int], n_true: Optional[int]) -> np.ndarray:
    """Accuracy or F1 (binary: the positive class's; multiclass: the macro average over the data's labels) from
    (b, L, L) confusion matrices, rows true, columns predicted."""
    tp = np.einsum("bkk->bk", conf)
    if metric == "accuracy":
        return tp.sum(axis=1) / conf.sum(axis=(1, 2))
    support, predicted = conf.sum(axis=2), conf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = f1_from_counts(tp, predicted, support)
    if positive is not None:
        return f1[:, positive]
    return np.nanmean(f1[:, :n_true], axis=1)


@dataclass
class _DiffIntervals:
    """Per-resample values of both models (paired: on the same drawn rows; `scale` < 1: drawn on m of the n rows),
    and the interval of their difference."""

    current: Optional[object]  # bootstrap.Intervals
    baseline: Optional[object]
    level: float
    scale: float = 1.0
    drawn: int = 0
    centre: dict = field(default_factory=dict)  # metric -> the difference on the drawn rows (when scaled)

    def ci(self, name: str, diff: float) -> Optional[list]:
        if self.current is None or self.baseline is None:
            return None
        a, b = self.current.samples.get(name), self.baseline.samples.get(name)
        if a is None or b is None or a.ndim != 1:
            return None
        return difference_interval(a, b, self.level, diff, self.centre.get(name), self.scale)
