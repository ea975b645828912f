"""The metrics section: every metric of the task (postreport.stats.metrics) with its bootstrap interval."""
from __future__ import annotations

from postreport.stats import metrics
from postreport.stats.metrics import MetricsResult
from postreport.report.model import Estimate, Note, Table
from postreport.analyses.base import Analysis
from postreport.planning.plan import Step


class MetricsAnalysis(Analysis):
    name = "metrics"
    quick = True
    aggregated = True
    title = "Evaluation metrics"
    lead = "How well the model predicts the held-out test set."

    def plan(self, plan, settings) -> list:
        return intervals_step(plan)

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


def intervals_step(plan) -> list:
    """The bootstrap intervals of the configured model's metrics, which the sections that show them share (the
    metrics, per-class and leaderboard sections: computed once, by the first), with the multiclass one-vs-rest
    curves and areas when this section is the first to need them."""
    seconds = plan.metrics_seconds("configured")
    if not seconds:
        return []
    K, resamples = plan.shape.n_classes, plan.cfg.bootstrap.resamples
    what = f"bootstrap intervals ({resamples:,} resamples) of each model's metrics"
    if K > 2 and plan.once("class rankings"):
        what += f", and one-vs-rest curves and areas of each of the {K:,} classes"
        seconds += plan.ranking_seconds()
    return [Step("intervals", what, seconds, rows=plan.shape.n_test, repeats=resamples)]
