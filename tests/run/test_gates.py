"""Gates on arrays of values (postreport.run.gates): parsing refuses what cannot be judged, evaluation judges the point
or the stated bound of the interval at the boundaries, and gates.xml parses as JUnit with one case per gate."""
import pytest
from junitparser import JUnitXml
from omegaconf import OmegaConf

from postreport.run import gates
from postreport.report import render_gates
from postreport.errors import UserError


def parse(spec, baseline=False, sensitive=False):
    return gates.parse(OmegaConf.create(spec), baseline, sensitive)


def test_point_and_bounds_are_judged_at_the_boundaries():
    checks = parse({"accuracy": {"min": 0.8}, "roc_auc": {"min": 0.9, "on": "lower"},
                    "log_loss": {"max": 0.3, "on": "upper"}, "f1": {"min": 0.5, "max": 0.9}})
    values = {"accuracy": 0.8, "roc_auc": 0.95, "log_loss": 0.2, "f1": 0.91}
    intervals = {"roc_auc": [0.899, 0.97], "log_loss": [0.1, 0.3]}
    results = {r.name: r for r in gates.evaluate(checks, values, intervals, {})}
    assert results["accuracy"].status == gates.PASS  # min is inclusive
    assert results["roc_auc"].status == gates.FAIL and results["roc_auc"].value == 0.899  # the lower bound decides
    assert "estimate 0.95" in results["roc_auc"].message and "below the minimum 0.9" in results["roc_auc"].message
    assert results["log_loss"].status == gates.PASS and results["log_loss"].value == 0.3  # max is inclusive
    assert results["f1"].status == gates.FAIL and "above the maximum 0.9" in results["f1"].message


def test_a_gate_without_its_value_or_interval_is_not_evaluable_with_the_reason():
    checks = parse({"accuracy": {"min": 0.5, "on": "lower"}, "recall": {"min": 0.5}, "roc_auc_diff": {"min": 0}},
                   baseline=True)
    results = {r.name: r for r in gates.evaluate(checks, {"accuracy": 0.9, "recall": float("nan")}, {},
                                                 {"roc_auc_diff": "the comparison failed"})}
    assert {r.status for r in results.values()} == {gates.NOT_EVALUABLE}
    assert "bootstrap.resamples=0" in results["accuracy"].message
    assert results["roc_auc_diff"].message == "the comparison failed"


@pytest.mark.parametrize("spec,kwargs,fragment", [
    ({"acuracy": {"min": 0.5}}, {}, "'acuracy' is not a metric"),
    ({"accuracy_diff": {"min": 0}}, {}, "compare.baseline is not set"),
    ({"demographic_parity_difference": {"max": 0.1}}, {}, "analyses.fairness.sensitive is not set"),
    ({"accuracy": {}}, {}, "needs min or max"),
    ({"accuracy": {"min": 0.9, "max": 0.8}}, {}, "no value can pass"),
    ({"accuracy": {"min": True}}, {}, "must be a finite number"),
    ({"accuracy": {"min": 0.5, "on": "middle"}}, {}, "valid: point, lower, upper"),
    ({"accuracy": {"minimum": 0.5}}, {}, "valid: min, max, on"),
    ({"accuracy": 0.5}, {}, "must be a condition"),
])
def test_bad_gates_are_refused_naming_the_key(spec, kwargs, fragment):
    with pytest.raises(UserError, match=fragment.replace("(", r"\(")):
        parse(spec, **kwargs)


def test_gates_must_belong_to_the_task():
    gates.check_task(parse({"rmse": {"max": 3}}), "regression")
    with pytest.raises(UserError, match="not a binary metric"):
        gates.check_task(parse({"rmse": {"max": 3}}), "binary")
    with pytest.raises(UserError, match="does not apply to regression"):
        gates.check_task(parse({"demographic_parity_difference": {"max": 0.1}}, sensitive=True), "regression")


def test_junit_has_a_case_per_gate_with_failures_and_skips(tmp_path):
    checks = parse({"accuracy": {"min": 0.99}, "f1": {"min": 0.1}, "recall": {"min": 0.1, "on": "lower"}})
    results = gates.evaluate(checks, {"accuracy": 0.9, "f1": 0.8, "recall": 0.7}, {}, {})
    (tmp_path / "gates.xml").write_bytes(render_gates.junit(results, "a <suite> & co"))
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "gates.xml"))))
    assert suite.name == "a <suite> & co" and suite.tests == 3 and suite.failures == 1 and suite.skipped == 1
    outcomes = {case.name.split(":")[0]: [type(r).__name__ for r in case.result] for case in suite}
    assert outcomes == {"accuracy": ["Failure"], "f1": [], "recall": ["Skipped"]}


def test_summary_markdown_escapes_cells():
    results = gates.evaluate(parse({"accuracy": {"min": 0.5}}), {"accuracy": 0.9}, {}, {})
    text = render_gates.markdown("a|b <script>", "m", [("Accuracy", 0.9, [0.8, 0.95])], 0.95, results, None).decode()
    assert "# a\\|b &lt;script>" in text and "| Accuracy | 0.9 | [0.8, 0.95] |" in text
    assert "## Gates: passed (1 of 1 passed)" in text


def test_a_gate_that_could_not_be_evaluated_is_not_a_pass():
    """A gate on a section the budget cut read "Gates: passed (2 of 2 not failing)" with exit 0: it says "not
    evaluated" and fails the run (exit 3) under gates_unevaluated=fail, by default when a CI output is written."""
    from postreport.errors import UserError

    results = gates.evaluate(parse({"accuracy": {"min": 0.5}, "drift_share": {"max": 0.3}}), {"accuracy": 0.9}, {},
                             {"drift_share": "the drift section cut: budget.max_seconds"})
    text = render_gates.markdown("t", "m", [], None, results, None).decode()
    assert "## Gates: not evaluated (1 of 2 passed, 1 not evaluated)" in text
    assert gates.unevaluated_policy(None, ["html", "junit"]) == "fail"
    assert gates.unevaluated_policy(None, ["html", "json"]) == "warn"
    assert [r.name for r in gates.blocking(results, "fail")] == ["drift_share"]
    assert gates.blocking(results, "warn") == []
    with pytest.raises(UserError, match="gates_unevaluated='maybe' is not valid; valid: fail, warn"):
        gates.unevaluated_policy("maybe", [])
