"""MODEL_CARD.md in the Hugging Face model-card format (huggingface_hub's ModelCard / ModelCardData, the optional
extra `model_card`): YAML metadata with a model-index of every metric, then sections filled from the run's evidence.
Intended and out-of-scope use come from the `card:` keys the user writes; empty ones are marked to be written."""
from __future__ import annotations

from postreport.analyses.base import finding
from postreport.stats import metrics
from postreport.report.render_gates import md_text

TASK_TYPES = {"binary": "tabular-classification", "multiclass": "tabular-classification",
              "regression": "tabular-regression"}
TO_WRITE = "_To be written by the model's owner (set `card.{key}` in the config)._"


def available() -> bool:
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return False
    return True


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def model_card(cfg, ctx, outcomes: list, gates: list) -> bytes:
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    data, model = ctx.data, ctx.model
    done = {o.name: o.result for o in outcomes if o.status == "ok"}
    result = done.get("metrics")
    values = {} if result is None else {k: v for k, v in result.values.items() if v is not None}
    evals = [EvalResult(task_type=TASK_TYPES[data.task], dataset_type=str(data.name), dataset_name=str(data.name),
                        dataset_split="test", metric_type=name, metric_name=metrics.label(name), metric_value=value)
             for name, value in values.items()]
    card = cfg.card
    meta = ModelCardData(model_name=str(model.name), library_name="scikit-learn", license=card.license or None,
                         tags=["postreport", "tabular", data.task], datasets=[str(data.name)],
                         eval_results=evals or None)
    lines = [f"# {md_text(model.name)} on {md_text(data.name)}", "",
             f"Made by postreport from the evidence of one run ({data.task}; {data.n_test:,} held-out test rows). "
             "The numbers are computed, the use statements are written by people.", ""]
    lines += ["## Model details and provenance", "",
              f"- Model: {md_text(model.name)} "
              f"({md_text(model.estimator_class or 'no estimator: logged predictions')}), {md_text(model.origin)}",
              "- Parameters: " + md_text(", ".join(f"{k}={v}" for k, v in sorted((model.params or {}).items()))
                                         or "n/a"),
              f"- Data fingerprint (SHA-256 of the rows used): {data.fingerprint()}",
              f"- Seed: {ctx.seed}", ""]
    if card.authors:
        lines.insert(-1, f"- Authors: {card.authors}")
    lines += ["## Training and evaluation data", "",
              f"- Source: {md_text(data.source or data.name)}",
              f"- Training rows: {data.n_train:,}; test rows: {data.n_test:,}; features: {len(data.features)}",
              f"- Target: {md_text(data.target)}"
              + (f"; classes: {md_text(', '.join(map(str, data.labels[:20])))}" if data.labels else ""), ""]
    if result is not None:
        level = f"{result.ci_level:.0%} " if result.ci_level else ""
        lines += ["## Results", "", f"| Metric | Value | {level}interval |", "|---|---|---|"]
        for name in metrics.TASKS[data.task].all:
            ci = result.ci.get(name)
            lines.append(f"| {metrics.label(name)} | {_num(result.values.get(name))} | "
                         + (f"[{_num(ci[0])}, {_num(ci[1])}]" if ci else "n/a") + " |")
        lines.append("")
    findings = []
    for name in ("slices", "fairness", "calibration", "thresholds", "conformal", "comparison"):
        r = done.get(name)
        text = finding(r) if r is not None else None
        if text:
            findings.append(f"- {md_text(text)}")
    lines += ["## Slices, fairness and limitations", ""] + (findings or ["- No section reported a finding."]) + [""]
    if gates:
        lines += ["## Quality gates", ""] + [f"- {g.status}: {md_text(g.message)}" for g in gates] + [""]
    lines += ["## Intended use", "", card.intended_use or TO_WRITE.format(key="intended_use"), "",
              "## Out-of-scope use", "", card.out_of_scope_use or TO_WRITE.format(key="out_of_scope_use"), ""]
    content = f"---\n{meta.to_yaml()}\n---\n\n" + "\n".join(lines)
    return str(ModelCard(content)).encode("utf-8")
