"""Performance over time: the test of a worse period against statsmodels and scipy, period keys from a date
column's parts, and a planted bad day flagged alone in logged predictions."""
import numpy as np
import pandas as pd
import pytest

from postreport.analyses.over_time import OverTimeSettings, period_keys, worse_test
from postreport.run.predictions import confidence
from postreport.stats.estimated import calibration_gap, expected_accuracy
from postreport.stats.proportions import newcombe, z_for


def errors(values):  # a period's sums as over_time keeps them: rows right (0/1 errors) or |e| and e²
    v = np.asarray(values, float)
    if set(np.unique(v)) <= {0.0, 1.0}:
        return {"n": len(v), "right": float(len(v) - v.sum())}
    return {"n": len(v), "ae": float(v.sum()), "se": float((v * v).sum())}


def test_the_worse_period_test_equals_statsmodels_and_scipy():
    from scipy.stats import ttest_ind
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(0)
    period, reference = (rng.random(400) < 0.22).astype(float), (rng.random(900) < 0.15).astype(float)
    difference, ci, p = worse_test(errors(period), errors(reference), False, 1.96)
    z, p_sm = proportions_ztest([period.sum(), reference.sum()], [400, 900], alternative="larger")
    assert p == pytest.approx(p_sm) and difference == pytest.approx(reference.mean() - period.mean())
    a, b = np.abs(rng.normal(0, 1.3, 300)), np.abs(rng.normal(0, 1.0, 500))
    difference, ci, p = worse_test(errors(a), errors(b), True, 1.96)
    assert p == pytest.approx(ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
    assert difference == pytest.approx(a.mean() - b.mean())


def test_period_keys_from_a_date_columns_parts():
    stamps = pd.to_datetime(["2026-11-30", "2026-12-01", "2026-12-07", None])
    X = pd.DataFrame({"when.year": stamps.year, "when.month": stamps.month, "when.day": stamps.day}).astype(float)
    keys = lambda period: period_keys(X, {"when": list(X.columns)},  # noqa: E731
                                      OverTimeSettings(by="when", period=period)).tolist()
    assert keys("day")[:3] == ["2026-11-30", "2026-12-01", "2026-12-07"] and pd.isna(keys("day")[3])
    assert keys("week")[:3] == ["2026-W49", "2026-W49", "2026-W50"]
    assert keys("month")[:3] == ["2026-11", "2026-12", "2026-12"]


def test_period_keys_from_dates_as_text_like_partition_folders():
    X = pd.DataFrame({"date": pd.Categorical(["2026-11-30", "2026-12-01", None])})
    assert period_keys(X, {}, OverTimeSettings(by="date", period="week")).tolist()[:2] == ["2026-W49", "2026-W49"]
    assert period_keys(X, {}, OverTimeSettings(by="date", period=None)).tolist()[:2] == ["2026-11-30", "2026-12-01"]


def test_the_difference_intervals_cover_at_their_level():
    """Newcombe (accuracy) and Welch (absolute error) intervals of a period's difference from the reference, by
    simulation: each holds the true difference in about 95 % of samples."""
    rng = np.random.default_rng(1)
    hits = {"newcombe": 0, "welch": 0}
    reps = 1000
    truth = 0.2 * np.mean(np.abs(rng.standard_t(5, 2_000_000)))  # E|t5| x (1.2 - 1)
    for _ in range(reps):
        d, ci, _ = worse_test(errors(rng.random(300) > 0.8), errors(rng.random(900) > 0.85), False, 1.96)
        hits["newcombe"] += ci[0] <= 0.80 - 0.85 <= ci[1]
        d, ci, _ = worse_test(errors(np.abs(rng.standard_t(5, 200)) * 1.2), errors(np.abs(rng.standard_t(5, 600))),
                              True, 1.96)
        hits["welch"] += ci[0] <= truth <= ci[1]
    assert all(0.93 <= h / reps <= 0.97 for h in hits.values()), hits


def test_newcombe_interval_equals_statsmodels():
    from statsmodels.stats.proportion import confint_proportions_2indep

    for k1, n1, k0, n0 in [(240, 300, 765, 900), (0, 40, 3, 50), (40, 40, 12, 30), (7, 9, 1, 2)]:
        expected = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff", alpha=0.05)
        assert newcombe(k1, n1, k0, n0, z_for(0.95)) == pytest.approx(list(expected), abs=1e-12)
    d, ci, _ = worse_test(errors(np.arange(300) < 60), errors(np.arange(900) < 135), False, z_for(0.95))
    assert d == pytest.approx(0.80 - 0.85) and ci == newcombe(240, 300, 765, 900, z_for(0.95))


def test_cbpe_interval_holds_the_accuracy_the_rows_show_on_calibrated_scores():
    """The estimate from calibrated probabilities against the true accuracy once the labels are drawn: covered at
    about the nominal rate; and miscalibrated scores (too confident) are found by the gap on labelled rows."""
    rng = np.random.default_rng(2)
    reps, hits = 1000, 0
    for _ in range(reps):
        p = rng.beta(5, 2, 150)  # the probability of the predicted label
        right = rng.random(150) < p
        estimate, ci, _ = expected_accuracy(p.sum(), (p * p).sum(), len(p), 1.96)
        hits += ci[0] <= right.mean() <= ci[1]
    assert 0.93 <= hits / reps <= 0.97
    p = rng.beta(5, 2, 3000)
    gap = lambda r: calibration_gap(r.sum(), (r * p).sum(), p.sum(), (p * p).sum(), len(p), 1.96)  # noqa: E731
    g, ci = gap((rng.random(3000) < p).astype(float))
    assert ci[0] <= 0 <= ci[1]
    g, ci = gap((rng.random(3000) < p - 0.08).astype(float))  # 8 points over-confident
    assert ci[1] < 0 and g == pytest.approx(-0.08, abs=0.03)
    r = (rng.random(3000) < p).astype(float)  # the interval from sums equals the one from the rows
    d = r - p
    assert gap(r)[1][1] - gap(r)[0] == pytest.approx(1.96 * d.std(ddof=1) / np.sqrt(3000))


def test_confidence_is_the_probability_of_the_predicted_label():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.5, 0.0]])
    assert confidence(["a", "b", "c"], proba, np.array(["a", "b", "z"])).tolist() == [0.7, 0.3, 0.0]


@pytest.mark.slow
def test_a_planted_bad_day_is_the_only_one_flagged(tmp_path):
    """Ten daily partition folders (date=...), one day 5 points worse, one more day whose labels have not arrived:
    only the bad day flagged, the unlabelled day estimated from calibrated scores within its interval, and the worst
    period's difference a gate."""
    from conftest import run_report

    rng = np.random.default_rng(3)
    days = pd.date_range("2026-11-01", periods=11, freq="D")
    truth = None
    for k, day in enumerate(days):
        n = 3000
        y = rng.integers(0, 2, n)
        confident = rng.beta(8, 2, n)  # calibrated: right with this probability
        if k == 6:
            confident = np.clip(confident - 0.05, 0.5, 1)
        right = rng.random(n) < confident
        y_pred = np.where(right, y, 1 - y)
        frame = pd.DataFrame({"x": rng.normal(0.5 if k == 3 else 0, 1, n), "y_true": y.astype(float),
                              "score": np.where(y_pred == 1, confident, 1 - confident)})
        if k == 10:
            truth, frame["y_true"] = right.mean(), np.nan
        folder = tmp_path / "logged" / f"date={day:%Y-%m-%d}"
        folder.mkdir(parents=True)
        frame.to_parquet(folder / "part-0.parquet")
    given = ["data=predictions", f"data.path={tmp_path / 'logged'}", "data.scores=[score]",
             "report.analyses=[metrics,over_time]", "+analyses.over_time.by=date",
             "+gates.worst_period_difference.min=-0.02"]
    result, _ = run_report(tmp_path, given)
    over = result.metrics["results"]["over_time"]
    periods = over["periods"]
    assert [p["period"] for p in periods] == [f"{d:%Y-%m-%d}" for d in days]
    assert [p["period"] for p in periods if p["flagged"]] == ["2026-11-07"]
    assert over["worst_period"] == "2026-11-07" and periods[6]["difference"] < -0.03
    assert result.exit_code == 3  # the worst day's difference is below -0.02
    assert all(p["n"] == 3000 for p in periods[:10]) and periods[0]["reference"]
    assert periods[3]["drift_share"] == 1.0 and periods[0]["drift_share"] is None  # x moved on day 4 only
    assert sum(p["drift_share"] for p in periods[1:10] if p is not periods[3]) <= 2
    late = periods[10]
    assert late["estimated"] and late["n"] == 0 and late["n_unlabeled"] == 3000
    assert late["metrics_ci"]["accuracy"][0] <= truth <= late["metrics_ci"]["accuracy"][1]
    assert not late["flagged"] and over["calibration"]["gap_ci"][0] <= 0 <= over["calibration"]["gap_ci"][1]
    for p in periods[:10]:  # the estimate beside each measured value tracks it
        assert abs(p["estimate"]["accuracy"] - p["metrics"]["accuracy"]) < 0.03
    # DuckDB counts the same cells where the rows live: the same numbers (counts exact, sums to rounding); the drift
    # shares come from binned counts there (chi-squared on the reference's deciles), so they may differ
    engine, _ = run_report(tmp_path / "duckdb", given + ["data.engine=duckdb"])
    other = engine.metrics["results"]["over_time"]["periods"]
    for a, b in zip(periods, other):
        assert (a["n"], a["n_unlabeled"], a["flagged"], a["estimated"]) == (b["n"], b["n_unlabeled"], b["flagged"],
                                                                            b["estimated"])
        for key in ("difference", "p_value", "q_value"):
            assert (a[key] is None and b[key] is None) or a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12)
        assert a["metrics"]["accuracy"] == pytest.approx(b["metrics"]["accuracy"], rel=1e-12)
        assert a["metrics_ci"]["accuracy"] == pytest.approx(b["metrics_ci"]["accuracy"], rel=1e-9)
    assert other[3]["drift_share"] == 1.0 and engine.exit_code == 3


def test_a_partial_first_period_is_extended_to_min_rows_as_the_reference():
    """A first period of 17 rows (below min_rows=30) judged nothing: the reference takes the next periods until it
    holds min_rows labelled rows, with a note; it always leaves a period to judge."""
    from types import SimpleNamespace

    from postreport.analyses.over_time import reference_count

    periods = {"2026-03-01": {"n": 17}, "2026-03-02": {"n": 10}, "2026-03-03": {"n": 400}, "2026-03-04": {"n": 400}}
    settings = SimpleNamespace(reference=1, min_rows=30)
    notes = []
    assert reference_count(sorted(periods), periods, settings, notes) == 3
    assert "the reference is the first 3 (2026-03-01 to 2026-03-03)" in notes[0]
    assert reference_count(sorted(periods), periods, SimpleNamespace(reference=1, min_rows=10), []) == 1
    assert reference_count(["a", "b"], {"a": {"n": 1}, "b": {"n": 1}}, settings, []) == 1  # one left to judge


def test_scores_far_from_calibrated_are_calibrated_on_the_reference_and_calibrated_ones_are_left_alone():
    from postreport.stats.estimated import apply_maps, reference_calibration, top_ece

    rng = np.random.default_rng(21)

    def draw(n):
        q = rng.beta(2, 2, n)
        return q, (rng.random(n) < q).astype(int)

    q, y = draw(3000)
    maps, words = reference_calibration(np.column_stack([1 - q, q]), y, "auto", 0)
    assert maps is None and "used as they are" in words  # calibrated already: a map would only fit the noise
    cubed = np.column_stack([1 - q ** 3, q ** 3])
    maps, words = reference_calibration(cubed, y, "auto", 0)
    assert maps is not None and "lowers the reference's calibration error" in words
    q2, y2 = draw(20000)  # fresh rows: the maps fitted on the reference calibrate them
    fresh = np.column_stack([1 - q2 ** 3, q2 ** 3])
    assert top_ece(apply_maps(maps, fresh), y2) < 0.02 < top_ece(fresh, y2)
    assert reference_calibration(np.column_stack([1 - q, q]), y, "isotonic", 0)[0] is not None  # asked: always


@pytest.mark.slow
def test_an_uncalibrated_models_estimates_track_the_measured_accuracy_once_calibrated(tmp_path):
    """Scores cubed (far from calibrated): estimated from the raw scores, every month's accuracy is far off; with
    analyses.over_time.calibrate=auto (maps fitted on the reference month) it tracks the measured one."""
    from conftest import run_report

    rng = np.random.default_rng(22)
    frames = []
    for month in range(6):
        n = 2500
        q = rng.beta(2, 2, n)
        frames.append(pd.DataFrame({"when": f"2026-{month + 1:02d}-15", "x": rng.normal(size=n),
                                    "y_true": (rng.random(n) < q).astype(int), "score": q ** 3}))
    pd.concat(frames).to_parquet(tmp_path / "logged.parquet")
    given = ["data=predictions", f"data.path={tmp_path / 'logged.parquet'}", "data.scores=[score]",
             "report.analyses=[metrics,over_time]", "+analyses.over_time.by=when", "analyses.over_time.period=month",
             "report.formats=[json]"]
    gaps = {}
    for mode in ("auto", "none"):
        result, _ = run_report(tmp_path / mode, [*given, f"analyses.over_time.calibrate={mode}"])
        over = result.metrics["results"]["over_time"]
        later = [p for p in over["periods"] if not p["reference"]]
        gaps[mode] = np.mean([abs(p["estimate"]["accuracy"] - p["metrics"]["accuracy"]) for p in later])
        assert over["calibrated"] == (mode == "auto")
    assert gaps["auto"] < 0.01 < 0.05 < gaps["none"]


def test_the_calibration_maps_variance_widens_the_estimates_interval_by_the_references_spread():
    from postreport.stats.estimated import map_variance

    p = np.array([0.9, 0.8, 0.95, 0.7])  # a later period's mapped confidences
    ref = np.array([0.9, 0.6, 0.85, 0.75, 0.99])  # the reference's
    extra = map_variance(ref.sum(), (ref ** 2).sum(), len(ref))
    assert extra == pytest.approx(np.sum(ref * (1 - ref)) / len(ref) ** 2)
    _, ci, variance = expected_accuracy(p.sum(), (p ** 2).sum(), len(p), 1.96, extra)
    assert variance == pytest.approx(np.sum(p * (1 - p)) / len(p) ** 2 + extra)
    half = 1.96 * np.sqrt(variance)
    assert ci == pytest.approx([p.mean() - half, min(1.0, p.mean() + half)])
