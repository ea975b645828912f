"""The metrics section: every metric of the task (postreport.stats.metrics) with its bootstrap interval."""
from __future__ import annotations

from postreport.stats import metrics
from postreport.stats.metrics import MetricsResult
from postreport.report.model import Estimate, Note, Table
from postreport.analyses.base import Analysis


class MetricsAnalysis(Analysis):
    name = "metrics"
    aggregated = True
    title = "Evaluation metrics"
    lead = "How well the model predicts the held-out test set."

    def compute(self, ctx, settings) -> MetricsResult:
        result = metrics.candidate_metrics(ctx, ctx.model)
        headline = metrics.TASKS[result.task].headline
        if all(result.values.get(name) is None for name in headline):  # a section of nothing is not "ok"
            raise ValueError(f"every headline metric ({', '.join(map(metrics.label, headline))}) is undefined: "
                             + (" ".join(result.notes) or "the predictions cannot be compared with the labels"))
        return result

    def items(self, result: MetricsResult) -> list:
        rows = []
        for name, value in result.values.items():
            m = metrics.METRICS[name]
            meaning = m.meaning
            if result.task == "multiclass" and name in ("precision", "recall", "f1"):
                meaning = f"per-class {m.label.lower()}, averaged over classes with equal weight (macro)"
            meaning = meaning.format(pos=repr(result.positive))
            rows.append([m.label, Estimate(value, result.ci.get(name), result.flag(name)),
                         "higher" if m.higher_is_better else "lower", meaning])
        caption = "Computed on the test set"
        if result.ci_level is not None:
            caption += (f"; in brackets the {result.ci_level:.0%} bootstrap confidence interval "
                        f"({result.ci_resamples:,} resamples of the test rows)")
        if result.averaging:
            caption += f"; precision, recall and F1 are {result.averaging}"
        value_column = "Value" if result.ci_level is None else f"Value [{result.ci_level:.0%} CI]"
        items = [Table(columns=["Metric", value_column, "Better", "What it measures"], rows=rows,
                       caption=caption + ".")]
        items += [Note(n, "warning") for n in result.notes]
        return items
