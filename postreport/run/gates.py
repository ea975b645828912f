"""Quality gates: conditions in YAML on any metric or `<metric>_diff` (against compare.baseline), each on the point
estimate or a bound of its interval. Checked before any work; evaluated on the report's subject model after the
sections; any failure makes the exit status 3 (the report is still written). Also the CI outputs: gates.xml
(JUnit) and summary.md."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from omegaconf import OmegaConf

from postreport.stats import metrics
from postreport.errors import UserError

SIDES = ("point", "lower", "upper")
# the fairness section's summaries (per task), gated on their worst value over the sensitive columns
FAIRNESS = {"binary": ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
                       "equal_opportunity_difference"),
            "multiclass": ("accuracy_difference",), "regression": ("mae_difference",)}
FAIRNESS_NAMES = tuple(dict.fromkeys(n for names in FAIRNESS.values() for n in names))
MONITORING_NAMES = ("drift_share", "domain_auc", "worst_period_difference",  # drift, over_time (every task)
                    "checks_warnings")  # checks: the warning-level findings
PASS, FAIL, NOT_EVALUABLE = "pass", "fail", "not evaluable"


@dataclass
class Gate:
    name: str  # the metric, or <metric>_diff
    min: Optional[float]
    max: Optional[float]
    on: str

    @property
    def metric(self) -> str:
        return self.name[: -len("_diff")] if self.name.endswith("_diff") else self.name

    @property
    def is_diff(self) -> bool:
        return self.name.endswith("_diff")

    def condition(self) -> str:
        what = {"point": self.name, "lower": f"lower bound of {self.name}", "upper": f"upper bound of {self.name}"}
        parts = ([f">= {self.min:g}"] if self.min is not None else []) + (
            [f"<= {self.max:g}"] if self.max is not None else [])
        return f"{what[self.on]} {' and '.join(parts)}"


@dataclass
class GateResult:
    name: str
    condition: str
    on: str
    value: Optional[float]
    status: str
    message: str

    def to_json(self) -> dict:
        return {"name": self.name, "condition": self.condition, "on": self.on, "value": self.value,
                "status": self.status, "message": self.message}


def parse_config(cfg) -> list:
    """The config's gates, checked against what the run will have: a baseline, the fairness section's groups."""
    return parse(cfg.gates, bool(cfg.compare.baseline), bool(OmegaConf.select(cfg, "analyses.fairness.sensitive")))


def parse(gates_cfg, has_baseline: bool, has_sensitive: bool = False) -> list:
    """The gates of the config, checked: known metric names, `_diff` only with a baseline, fairness summaries only
    with sensitive columns, min and/or max, `on`."""
    valid = sorted(metrics.METRICS) + list(FAIRNESS_NAMES) + list(MONITORING_NAMES)
    out = []
    for name, spec in (gates_cfg or {}).items():
        key = f"gates.{name}"
        if not hasattr(spec, "keys"):
            raise UserError(f"{key}={spec!r} must be a condition such as {{min: 0.9}} or {{max: 0.3, on: upper}}")
        unknown = sorted(set(spec.keys()) - {"min", "max", "on"})
        if unknown:
            raise UserError(f"{key}.{unknown[0]} is not a gate setting; valid: min, max, on")
        gate = Gate(str(name), spec.get("min"), spec.get("max"), spec.get("on") or "point")
        if gate.name in MONITORING_NAMES:
            pass
        elif gate.name in FAIRNESS_NAMES:
            if not has_sensitive:
                raise UserError(f"{key} is a fairness measure, but analyses.fairness.sensitive is not set; set it to "
                                "the columns that define the groups (e.g. analyses.fairness.sensitive=[sex])")
        elif gate.metric not in metrics.METRICS:
            raise UserError(f"{key}: {gate.metric!r} is not a metric; valid: {', '.join(valid)} (or <metric>_diff "
                            "with compare.baseline)")
        if gate.is_diff and not has_baseline:
            raise UserError(f"{key} is a difference with the baseline, but compare.baseline is not set; set "
                            "compare.baseline=PATH (a run folder or a predictions file) or gate on "
                            f"{gate.metric!r} itself")
        if gate.min is None and gate.max is None:
            raise UserError(f"{key} needs min or max (or both), e.g. {key}={{min: 0.9}}")
        for bound in ("min", "max"):
            value = getattr(gate, bound)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise UserError(f"{key}.{bound}={value!r} must be a finite number")
        if gate.min is not None and gate.max is not None and gate.min > gate.max:
            raise UserError(f"{key}: min={gate.min:g} is above max={gate.max:g}; no value can pass")
        if gate.on not in SIDES:
            raise UserError(f"{key}.on={gate.on!r} is not valid; valid: {', '.join(SIDES)}")
        out.append(gate)
    return out


UNEVALUATED = ("fail", "warn")
CI_FORMATS = ("junit", "markdown")


def unevaluated_policy(policy, formats) -> str:
    """gates_unevaluated: whether a gate that could not be evaluated fails the run: fail | warn, or null: fail when
    the run writes a CI output (gates.xml, summary.md), warn otherwise."""
    if policy is None:
        return "fail" if any(f in CI_FORMATS for f in formats) else "warn"
    if policy not in UNEVALUATED:
        raise UserError(f"gates_unevaluated={policy!r} is not valid; valid: {', '.join(UNEVALUATED)} (or null: fail "
                        f"when report.formats has {' or '.join(CI_FORMATS)}, else warn)")
    return policy


def blocking(results: list, policy: str) -> list:
    """The gates that make the exit status 3: the failed ones, and the not evaluable ones when the policy fails
    them."""
    return [r for r in results if r.status == FAIL or r.status == NOT_EVALUABLE and policy == "fail"]


def heading(results: list) -> str:
    """The gates' verdict in words: FAILED, not evaluated (none failed, some could not be evaluated) or passed."""
    failed = sum(r.status == FAIL for r in results)
    unknown = sum(r.status == NOT_EVALUABLE for r in results)
    word = "FAILED" if failed else "not evaluated" if unknown else "passed"
    return (f"{word} ({len(results) - failed - unknown} of {len(results)} passed"
            + (f", {failed} failed" if failed else "") + (f", {unknown} not evaluated" if unknown else "") + ")")


def check_task(gates: list, task: str) -> None:
    """After the data is read: every gated metric belongs to the task."""
    allowed = metrics.TASKS[task].all
    for gate in gates:
        if gate.name in MONITORING_NAMES:
            continue
        if gate.name in FAIRNESS_NAMES:
            if gate.name not in FAIRNESS[task]:
                raise UserError(f"gates.{gate.name} does not apply to {task}; valid fairness gates: "
                                f"{', '.join(FAIRNESS[task])}")
        elif gate.metric not in allowed:
            raise UserError(f"gates.{gate.name}: {gate.metric!r} is not a {task} metric; valid: {', '.join(allowed)}")


def evaluate(gates: list, values: dict, intervals: dict, why_missing: dict) -> list:
    """values / intervals: name -> number / [low, high] (metrics and `<metric>_diff`); why_missing: name -> why a
    value is absent (e.g. the comparison failed)."""
    results = []
    for gate in gates:
        point, ci = values.get(gate.name), intervals.get(gate.name)
        value = point if gate.on == "point" else (None if ci is None else ci[0 if gate.on == "lower" else 1])
        label = {"point": "", "lower": "lower bound ", "upper": "upper bound "}[gate.on]
        if value is None or not math.isfinite(value):
            reason = why_missing.get(gate.name) or (
                f"{gate.name} has no {'interval' if gate.on != 'point' else 'value'} in this run"
                + (" (bootstrap.resamples=0?)" if gate.on != "point" and point is not None else ""))
            results.append(GateResult(gate.name, gate.condition(), gate.on, None, NOT_EVALUABLE, reason))
            continue
        low_ok = gate.min is None or value >= gate.min
        high_ok = gate.max is None or value <= gate.max
        shown = f"{label}{value:.4g}"
        if point is not None and gate.on != "point":
            shown += f" (estimate {point:.4g}, interval [{ci[0]:.4g}, {ci[1]:.4g}])"
        if low_ok and high_ok:
            results.append(GateResult(gate.name, gate.condition(), gate.on, value, PASS,
                                      f"{gate.name}: {shown} meets {gate.condition()}"))
        else:
            broken = f"below the minimum {gate.min:g}" if not low_ok else f"above the maximum {gate.max:g}"
            results.append(GateResult(gate.name, gate.condition(), gate.on, value, FAIL,
                                      f"{gate.name}: {shown} is {broken}"))
    return results
