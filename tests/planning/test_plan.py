"""The plan (postreport.planning.plan) as pure functions of the config and the data's shape: the same inputs give the same
plan with no clock read, budgets size steps (trials, stacking, out-of-fold rows, importance rows), classes count in
the cost, the profile scales and explicit settings win, and threads follow the affinity mask."""
import time

import pytest
from conftest import make_cfg

from postreport.planning import costs, threads
from postreport.explain.attributions import MIN_ROWS
from postreport.errors import UserError
from postreport.analyses.base import regression
from postreport.planning.plan import FLOOR_ROWS, OOF_MAX_ROWS, Shape, Step, explicit, make_plan, profiled
from postreport.run.runner import validate


def planned(overrides=(), n_train=426, n_test=143, features=30, classes=2, smallest=None, task=None):
    cfg = profiled(make_cfg(overrides), overrides)
    task = task or ("binary" if classes == 2 else "regression" if classes == 0 else "multiclass")
    smallest = n_train // max(classes, 1) if smallest is None else smallest
    shape = Shape(task, n_train, n_test, features, classes, True, smallest)
    return make_plan(cfg, shape, validate(cfg).analyses), cfg


def test_the_same_config_and_shape_give_the_same_plan_without_a_clock(monkeypatch):
    first = planned()[0].to_json()

    def no_clock(*args):
        raise AssertionError("the plan read a clock")

    monkeypatch.setattr(time, "perf_counter", no_clock)
    monkeypatch.setattr(time, "time", no_clock)
    monkeypatch.setattr(time, "monotonic", no_clock)
    assert planned()[0].to_json() == first
    lines = planned()[0].lines()  # the dry run's text: reference seconds only, no clock-read guess at this machine
    assert lines[-1].startswith(f"estimated total: {first['estimated_seconds']:.0f} s on the reference machine")
    assert not any("on this machine" in line for line in lines)


def test_tuning_trials_follow_the_planned_budget():
    plan, _ = planned()  # breast cancer's shape: 8 trials fit 10 planned seconds
    assert plan.tuning_trials == 8 and plan.step("tuning").runs
    plan, _ = planned(["tuning.timeout=0.001"])
    assert plan.tuning_trials == 0 and not plan.step("tuning").runs
    assert "over tuning.timeout=0.001 s" in plan.why("tuning")
    big, _ = planned(["tuning.timeout=3"], n_train=60000, n_test=20000, features=20)
    assert 0 < big.tuning_trials < 8
    assert f"{big.tuning_trials} of tuning.n_trials=8" in big.why("tuning")
    assert planned(["tuning.timeout=null"], n_train=60000, n_test=20000, features=20)[0].tuning_trials == 8


def test_stacking_is_built_only_within_its_planned_seconds():
    assert planned()[0].stacking
    plan, _ = planned(["ensemble.stacking.max_seconds=0.0001"])
    assert not plan.stacking and "over ensemble.stacking.max_seconds=0.0001" in plan.why("stacking")
    assert planned(["ensemble.stacking.max_seconds=null"], n_train=300000, features=20)[0].stacking


def test_out_of_fold_rows_are_capped_sized_to_their_budget_or_not_run():
    small, _ = planned()
    assert small.oof_rows == 426 and small.stacking_rows == 426  # stacking shares the sections' fits
    large, _ = planned(n_train=300000, n_test=100000, features=20)
    assert large.oof_rows <= OOF_MAX_ROWS
    budget = large.step("out-of-fold").seconds * 0.85  # half the rows cost more than 0.7: the split search is per tree
    tight, _ = planned([f"budget.out_of_fold_seconds={budget}"], n_train=300000, n_test=100000, features=20)
    assert large.oof_rows / 2 <= tight.oof_rows < large.oof_rows
    assert f"budget.out_of_fold_seconds={budget:g}" in tight.why("out-of-fold")
    assert tight.step("out-of-fold").seconds <= budget
    none, _ = planned(["budget.out_of_fold_seconds=0.0001"], n_train=300000, n_test=100000, features=20)
    assert none.oof_rows is None and not none.step("out-of-fold").runs
    assert "test-half methods" in none.why("out-of-fold")
    rare, _ = planned(n_train=20000, smallest=3)  # fewer rows of a class than folds: none
    assert rare.oof_rows is None and rare.step("out-of-fold") is None


def test_classes_count_in_the_cost():
    binary = costs.model_cost("lightgbm.LGBMClassifier", {"n_estimators": 200, "num_leaves": 15})
    two, thirty = binary.fit_seconds(4800, 20, 2), binary.fit_seconds(4800, 20, 30)
    assert 20 < thirty / two < 40  # one tree per class and round
    plan, _ = planned(n_train=4800, n_test=1200, features=20, classes=30)
    assert plan.step("fit model").seconds == pytest.approx(thirty)
    assert plan.tuning_trials == 0  # one cross-validation of 30 classes does not fit 10 planned seconds
    assert not plan.stacking and plan.oof_rows is None  # nor do stacking's or the sections' out-of-fold fits
    assert "even 2,400 of 4,800 rows" in plan.why("out-of-fold")


def test_importance_rows_are_sized_to_the_planned_budget():
    plan, cfg = planned(["analyses.feature_importance.max_seconds=0.000001"], n_test=5000)
    settings = validate(cfg).analyses["feature_importance"][1]
    rows = plan.rows_for(settings)  # not even MIN_ROWS fit: one repeat, the floor
    assert rows["repeats"] == 1 and rows["permutation"] == rows["attributions"] == FLOOR_ROWS
    cost = plan.cost.predict_seconds(MIN_ROWS, 30, 2) * (30 * 5 + 1)  # MIN_ROWS fit, 2,000 would not
    plan, cfg = planned([f"analyses.feature_importance.max_seconds={cost * 3 * 1.01}"], n_test=5000)
    rows = plan.rows_for(validate(cfg).analyses["feature_importance"][1])
    assert rows["repeats"] == 5 and MIN_ROWS <= rows["permutation"] < 2000
    plan, cfg = planned(["analyses.feature_importance.max_seconds=null"], n_test=5000)
    settings = validate(cfg).analyses["feature_importance"][1]
    assert plan.rows_for(settings)["permutation"] == settings.sample_size


def test_hundreds_of_classes_cut_permutation_repeats_then_rows_to_the_floor():
    plan, cfg = planned(n_train=1500, n_test=480, features=20, classes=500)
    settings = validate(cfg).analyses["feature_importance"][1]
    rows = plan.rows_for(settings)
    assert rows["repeats"] == 1 and FLOOR_ROWS <= rows["permutation"] < MIN_ROWS
    assert rows["attributions"] >= FLOOR_ROWS and "1 of 5 permutation repeats" in plan.why("feature importance")
    assert plan.tuning_trials == 0 and not plan.stacking and plan.oof_rows is None


def test_profiles_scale_the_plan_and_explicit_settings_win():
    quick, cfg = planned(["budget.profile=quick"])
    assert not cfg.tuning.enabled and not cfg.ensemble.enabled and quick.tuning_trials == 0
    assert set(cfg.report.analyses) <= {"checks", "metrics", "per_class", "confusion_matrix", "curves", "calibration",
                                        "thresholds", "residuals", "slices"}
    assert "feature_importance" not in cfg.report.analyses
    thorough, cfg = planned(["budget.profile=thorough"])
    assert cfg.tuning.n_trials == 32 and cfg.tuning.timeout == 40 and cfg.bootstrap.resamples == 2000
    assert cfg.analyses.feature_importance.repeats == 10
    _, cfg = planned(["budget.profile=thorough", "tuning.n_trials=5"])
    assert cfg.tuning.n_trials == 5 and cfg.tuning.timeout == 40  # the explicit setting wins, the rest scales
    _, cfg = planned(["budget.profile=quick", "report.analyses=[metrics,feature_importance]"])
    assert list(cfg.report.analyses) == ["metrics", "feature_importance"]
    with pytest.raises(UserError, match="budget.profile='fast' is not valid; valid: quick, default, thorough"):
        planned(["budget.profile=fast"])
    assert explicit(["+tuning.n_trials=3"], "tuning.n_trials") and not explicit(["tuning=optuna"], "tuning.n_trials")


def test_threads_follow_the_affinity_mask_and_small_fits_use_one(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert threads.available_cores() == 4 and threads.cores_for(-1) == 4 and threads.cores_for(2) == 2
    assert threads.fit_threads(426, 30, -1) == 1  # a small fit: one thread
    assert threads.fit_threads(300000, 20, -1) == 4 and threads.fit_threads(300000, 20, 1) == 1
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert threads.fit_threads(300000, 20, -1) == 1 and threads.cores_for(8) == 1  # never above the mask
    plan, _ = planned(n_train=300000, features=20)
    assert plan.threads == 1


def test_worker_processes_do_not_outlive_the_run():
    """joblib's workers (cross-validation folds on large data) idle for 300 s holding the command's stdout: a pipe
    reading it waited five minutes after the report was written. The run stops them."""
    import joblib
    from joblib.externals.loky import reusable_executor

    from postreport.run.runner import release_workers

    assert joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]
    processes = list(reusable_executor._executor._processes.values())
    assert processes and all(p.is_alive() for p in processes)
    release_workers()
    for p in processes:
        p.join(timeout=10)
    assert not any(p.is_alive() for p in processes)


def test_the_safety_net_cuts_a_step_that_passes_it_and_never_the_rest():
    from postreport.planning.deadline import Cut, Deadline

    with Deadline(0.2) as deadline:
        with pytest.raises(Cut, match=r"budget.max_seconds=0.2 s passed"):
            with deadline.cuttable():
                time.sleep(2)  # stopped by the alarm, not after the sleep
        assert deadline.passed
        with pytest.raises(Cut):  # a later step does not start
            with deadline.cuttable():
                raise AssertionError("ran after the deadline")
    with Deadline(0.1) as deadline:
        time.sleep(0.3)  # outside cuttable(): a step that must finish is not interrupted
        assert deadline.passed
    with Deadline(None) as deadline:
        with deadline.cuttable():
            time.sleep(0.01)
        assert not deadline.passed


@pytest.mark.slow
def test_a_clock_fifty_times_slower_changes_nothing_in_the_report(tmp_path, monkeypatch):
    """The default report (tuning and ensembles included) with every perf_counter reading multiplied by 50, as if
    each step took 50 times longer (a machine under heavy load): the same sections, samples, trials and numbers."""
    import json

    from conftest import run_report

    from postreport.report.render_json import without_timings

    quiet, _ = run_report(tmp_path / "quiet", ["bootstrap.resamples=200"], full=True)
    real = time.perf_counter
    monkeypatch.setattr(time, "perf_counter", lambda: real() * 50)
    slow, _ = run_report(tmp_path / "slow", ["bootstrap.resamples=200"], full=True)
    monkeypatch.setattr(time, "perf_counter", real)
    assert json.dumps(without_timings(slow.metrics), sort_keys=True) == json.dumps(without_timings(quiet.metrics),
                                                                                   sort_keys=True)
    names = [c["name"] for c in quiet.metrics["results"]["leaderboard"]["candidates"]]
    assert any(n.startswith("stacking") for n in names) and len(quiet.metrics["results"]["tuning"]["trials"]) == 8


@pytest.mark.slow
def test_sections_past_the_safety_net_are_cut_and_shown_so(tmp_path, monkeypatch):
    from conftest import run_report

    from postreport.analyses.metrics import MetricsAnalysis

    compute = MetricsAnalysis.compute

    def slow(self, ctx, settings):
        time.sleep(5)
        return compute(self, ctx, settings)

    monkeypatch.setattr(MetricsAnalysis, "compute", slow)
    result, out = run_report(tmp_path, ["budget.max_seconds=2", "report.analyses=[metrics,confusion_matrix]"],
                             formats=("html", "json"))
    status = {s["name"]: (s["status"], s["error"]) for s in result.metrics["sections"]}
    assert status["metrics"][0] == "cut" and status["confusion_matrix"][0] == "cut"
    assert "budget.max_seconds=2 s passed" in status["metrics"][1]
    assert result.exit_code == 0 and "sections cut by budget.max_seconds: metrics, confusion_matrix" in \
        result.closing_line()
    html = (out / "report.html").read_text()
    assert "Cut: budget.max_seconds=2 s passed" in html and 'class="badge cut"' in html


def test_a_step_whose_planned_seconds_would_pass_the_budget_is_cut_before_it_starts():
    """budget.max_seconds=5 let the tuning search run, then cut the section that shows it: the time spent, the
    result thrown away. A step planned past the budget is not started; the sections that show prepared work are
    never cut once it is done."""
    from postreport import registry
    from postreport.planning.deadline import Cut, Deadline

    started = []
    with Deadline(5.0) as deadline:
        with pytest.raises(Cut, match=r"not started: its planned 9.0 s would pass budget.max_seconds=5 s"):
            with deadline.cuttable(planned=9.0):
                started.append("search")
        with deadline.cuttable(planned=1.0):
            started.append("small step")
    assert started == ["small step"]
    shown = {name for name, cls in registry.load_all().items() if getattr(cls, "shows_prepared", False)}
    assert shown == {"tuning", "leaderboard"}


def test_tabular_saliency_and_prediction_drift_are_planned():
    """Tabular saliency took 20-35 s unplanned at 30 and 200 classes (its deletion check predicted 11 x 4 frames of
    every explained row): it runs on DELETION_ROWS of them and is a step of the plan, as is the drift section's
    prediction of the training rows; both are measured against their own timer steps."""
    from postreport.analyses.saliency import DELETION_ROWS
    from postreport.explain.image_saliency import RANDOM_ORDERS

    plan, _ = planned(n_train=4800, n_test=1200, features=20, classes=30)
    step = plan.step("saliency")
    assert step is not None and step.runs and f"deletion check on {DELETION_ROWS}" in step.what
    frames = (10 + 1) * DELETION_ROWS * (1 + RANDOM_ORDERS)
    assert step.seconds == pytest.approx(plan.cost.predict_seconds(frames, 20, 30))  # importance plans the rest
    assert plan.step("drift").seconds > plan.cost.predict_seconds(1000, 20, 30)  # drift.PREDICTION_ROWS
    assert step.measured_by == ("analysis: saliency",) and plan.step("drift").measured_by == ("analysis: drift",)


def test_each_candidates_intervals_are_planned_once_by_the_first_section_that_shows_them():
    """The first section to show them (checks, then metrics) plans the configured model's bootstrap, the tuning
    section the tuned one's, the leaderboard the rest and its paired resamples (binary: roc_auc ranks them, so the
    paired rows are ranked too); each candidate's intervals are computed once in the run and so planned once."""
    plan, cfg = planned(n_train=60000, n_test=30000, features=20)
    b = cfg.bootstrap
    one = plan.bootstrap_seconds()
    assert plan.tuning_trials > 0 and plan.candidates >= 3
    # 30,000 > max_exact_rows binary scores are grouped: a cost of the bins, not of the rows
    assert one == pytest.approx(costs.bootstrap_seconds(2, 30000, b.resamples, exact=False, max_bins=b.max_bins))
    # the checks come first in the default report and show the configured model's metrics: they plan its intervals
    assert plan.step("intervals") is None and plan.step("checks").seconds > one
    assert plan.step("tuning results").seconds == pytest.approx(one)
    paired = plan.bootstrap_seconds(b.max_exact_rows, scores=True, paired=True)
    assert plan.step("leaderboard").seconds == pytest.approx((plan.candidates - 2) * one + plan.candidates * paired)
    assert paired > one  # row-level resamples of 20,000 rows cost more than 8,192 grouped cells


def test_the_bootstrap_cost_follows_what_the_bootstrap_resamples():
    """Costs grow with what is resampled: rows (exact), cells (grouped binary scores), rankings (one per class, and
    the one-vs-one pairs' rows up to MAX_OVO_CLASSES classes); counting metrics of binary cells cost nothing."""
    exact = costs.bootstrap_seconds(2, 10000, 1000)
    assert costs.bootstrap_seconds(2, 20000, 1000) == pytest.approx(2 * exact, rel=0.01)
    assert costs.bootstrap_seconds(2, 10000, 2000) == pytest.approx(2 * exact - costs.DELONG_S * 10000, rel=0.01)
    grouped = [costs.bootstrap_seconds(2, rows, 1000, exact=False) for rows in (10 ** 5, 10 ** 6)]
    assert grouped[1] - grouped[0] == pytest.approx(costs.DELONG_S * 9 * 10 ** 5)  # the same cells; DeLong's per row
    assert costs.bootstrap_seconds(2, 10 ** 5, 1000, scores=False, exact=False) == 0.0
    ranked = costs.bootstrap_seconds(30, 1500, 1000)
    counted = costs.bootstrap_seconds(30, 1500, 1000, scores=False)
    assert ranked - counted == pytest.approx(1000 * 1500 * 30 * costs.CLASS_RANKING_S)
    five = costs.bootstrap_seconds(5, 1500, 1000, one_vs_one=True) - costs.bootstrap_seconds(5, 1500, 1000)
    assert five == pytest.approx(1000 * 1500 * 2 * 4 * costs.CLASS_RANKING_S)


# ------------------------------------------------------- a section that plans itself, registered from this module

class CostlySection:
    """A section written outside the package: it plans its own step and needs nothing the run lacks."""

    name, title, lead = "test_costly", "Planned test section", ""
    needs = ()

    def plan(self, plan, settings):
        return [Step("test costly", "sleeps a known time", 0.2, rows=plan.shape.n_test)]

    def compute(self, ctx, settings):
        import time as clock

        clock.sleep(0.2)

        class Result:
            def to_json(self):
                return {"slept": 0.2}
        return Result()

    def items(self, result):
        from postreport.report.model import Paragraph

        return [Paragraph("Slept as planned.")]


class NeedySection(CostlySection):
    """Needs a regression task: on classes it is skipped with its own words, and not planned."""

    name, title = "test_needy", "Needy test section"
    needs = (regression("The needy test section is for regression; this is classification."),)


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """Both sections under the entry-point group, as an installed package declares them (nothing else is edited)."""
    info = tmp_path / "plugin" / "test_sections-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: test-sections\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[postreport.analyses]\ntest_costly = test_plan:CostlySection\n"
                                           "test_needy = test_plan:NeedySection\n")
    monkeypatch.syspath_prepend(str(tmp_path / "plugin"))


@pytest.mark.slow
def test_a_section_from_outside_the_package_is_planned_measured_and_skipped_with_its_reason(registered, tmp_path):
    from html.parser import HTMLParser

    from conftest import run_report

    result, out = run_report(tmp_path, ["data=wine", "report.analyses=[metrics,test_costly,test_needy]"],
                             formats=("html", "json"))
    steps = {s["name"]: s for s in result.metrics["plan"]["steps"]}
    assert steps["test costly"]["seconds"] == 0.2 and steps["test costly"]["rows"] == result.metrics["n_test"]
    assert 0.2 <= steps["test costly"]["measured_seconds"] < 1.0  # its own timer step, "analysis: test_costly"
    assert "test needy" not in steps and "intervals" in steps
    assert "of 3 sections" in steps["sections"]["what"]
    status = {s["name"]: s for s in result.metrics["sections"]}
    assert status["test_costly"]["status"] == "ok" and result.metrics["results"]["test_costly"] == {"slept": 0.2}
    assert status["test_needy"]["status"] == "skipped"
    reason = "The needy test section is for regression; this is classification."
    assert status["test_needy"]["error"] == reason

    class Text(HTMLParser):
        words = ""

        def handle_data(self, data):
            self.words += data

    page = Text()
    page.feed((out / "report.html").read_text())
    assert "Planned test section" in page.words and "Slept as planned." in page.words and reason in page.words


@pytest.mark.slow
def test_the_profile_and_the_plan_leave_the_callers_config_as_it_was(tmp_path):
    """The config is not run state: the profile's scaling and the plan's threads are in the run's own copy."""
    from omegaconf import OmegaConf

    from conftest import end_to_end
    from postreport.run.runner import run

    given = ["data=wine", "model=logistic", "budget.profile=thorough", "report.analyses=[metrics]",
             "report.formats=[json]", "bootstrap.resamples=50"]
    cfg = make_cfg(given)
    before = OmegaConf.to_yaml(cfg)
    scaled = profiled(cfg, given)
    assert scaled.tuning.n_trials == 4 * cfg.tuning.n_trials and OmegaConf.to_yaml(cfg) == before
    end_to_end()
    result = run(cfg, tmp_path / "out", overrides=given)
    assert result.exit_code == 0 and result.metrics["plan"]["threads"] >= 1
    assert OmegaConf.to_yaml(cfg) == before  # n_jobs still -1, the trials unscaled
