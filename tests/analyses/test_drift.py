"""Drift statistics against scipy and statsmodels and hand computations; planted drift flagged exactly; the domain
classifier cannot tell two samples of one distribution apart and can tell shifted ones."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from postreport.analyses.drift import DriftSettings, _domain_classifier, column_drift
from postreport.config import BootstrapConfig
from postreport.stats import drift as st


def test_tests_and_distances_equal_scipys():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 2, 400), rng.normal(0.3, 2, 300)
    ks = sps.ks_2samp(a, b)
    assert st.ks(a, b) == pytest.approx((ks.statistic, ks.pvalue))
    assert st.wasserstein(a, b) == pytest.approx(sps.wasserstein_distance(a, b) / np.std(a))
    r, c = np.array([50, 30, 20, 0]), np.array([40, 35, 20, 5])
    chi = sps.chi2_contingency(np.vstack([r, c]), correction=False)
    assert st.chi_squared(r, c) == pytest.approx((chi[0], chi[1]))
    assert st.jensen_shannon(r, c) == pytest.approx(jensenshannon(r / r.sum(), c / c.sum(), base=2))
    assert st.chi_squared(np.array([5, 0]), np.array([7, 0])) == (0.0, 1.0)  # one category: nothing to test
    for n1, n2 in ((400, 300), (30_000, 20_000)):  # scipy below EXACT_KS values; one shared sort above, with ties
        a, b = np.round(rng.normal(0, 1, n1), 2), np.round(rng.normal(0.02, 1.1, n2), 2)
        ks = sps.ks_2samp(a, b)
        assert st.ks_and_wasserstein(a, b) == pytest.approx(
            (ks.statistic, ks.pvalue, sps.wasserstein_distance(a, b) / np.std(a)), rel=1e-12)


def test_binned_wasserstein_is_near_scipys_for_a_shift():
    from postreport.data.histograms import Counts

    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 50_000), rng.normal(0.3, 1, 50_000)
    edges = st.decile_edges(a, 10)
    side = lambda x: Counts(st.binned(x, edges), np.histogram(x, edges, weights=x)[0], 0, len(x))  # noqa: E731
    exact = sps.wasserstein_distance(a, b) / np.std(a)
    binned = st.binned_wasserstein(side(a), side(b), np.std(a))
    assert binned == pytest.approx(exact, abs=0.02)


def test_psi_by_hand_and_bh_equal_statsmodels():
    from statsmodels.stats.multitest import multipletests

    r, c = np.array([25, 25, 50, 0]), np.array([20, 30, 40, 10])
    rs, cs = np.maximum(r / 100, 1e-4), np.maximum(c / 100, 1e-4)
    assert st.psi(r, c) == pytest.approx(sum((q - p) * np.log(q / p) for p, q in zip(rs, cs)))
    p = [0.001, 0.04, 0.03, 0.2, 0.5, 0.012]
    assert st.benjamini_hochberg(p) == pytest.approx(list(multipletests(p, method="fdr_bh")[1]))
    edges = st.decile_edges(np.arange(100.0))
    assert len(edges) == 11 and st.binned(np.arange(100.0), edges).tolist() == [10.0] * 10


def planted(n, seed, shift=0.2):
    """20 columns: 18 unchanged, x0 shifted by `shift` reference sds, 'colour' with a changed mix."""
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(19)})
    cur = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(19)})
    cur["x0"] += shift
    ref["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], n, p=[0.4, 0.3, 0.3]))
    cur["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], n, p=[0.35, 0.3, 0.35] if shift else
                                              [0.4, 0.3, 0.3]))
    return ref, cur


def flagged(ref, cur, q=0.1):
    columns = [column_drift(c, ref[c], cur[c], DriftSettings()) for c in ref.columns]
    qs = st.benjamini_hochberg([c["p_value"] for c in columns])
    return {c["name"] for c, v in zip(columns, qs) if v <= q}, columns


def test_planted_drift_is_flagged_exactly():
    drifted, columns = flagged(*planted(20000, seed=1))
    assert drifted == {"x0", "colour"}
    x0 = next(c for c in columns if c["name"] == "x0")
    assert x0["effect"]["value"] == pytest.approx(0.2, abs=0.03)  # the shift, in reference sds


def test_without_drift_false_discoveries_stay_near_the_level():
    runs_with_any = sum(bool(flagged(*planted(2000, seed=s, shift=0.0))[0]) for s in range(40))
    assert runs_with_any <= 8  # BH at 0.1 over 20 true nulls: any flag in about 10 % of runs


def domain(ref, cur, seed=0):
    ctx = SimpleNamespace(seed=seed, bootstrap_seed=seed, cfg=SimpleNamespace(bootstrap=BootstrapConfig(resamples=200)))
    return _domain_classifier(ref, cur, ctx, DriftSettings(), SimpleNamespace(notes=[]))


def test_the_domain_classifier_tells_shifted_samples_apart_and_not_equal_ones():
    same = domain(*planted(600, seed=3, shift=0.0))
    assert same["auc_ci"][0] <= 0.5 <= same["auc_ci"][1] and same["rows"] == [600, 600]
    shifted = domain(*planted(600, seed=3, shift=1.0))
    assert shifted["auc_ci"][0] > 0.6 and shifted["top_columns"][0] == "x0"


@pytest.mark.slow
def test_the_drift_section_gates_and_reports(tmp_path):
    from conftest import run_report

    result, out = run_report(tmp_path, ["report.analyses=[metrics,drift]",
                                        "+gates={domain_auc: {max: 0.75, on: upper}, drift_share: {max: 0.5}}"],
                             formats=("html", "json"))
    drift = result.metrics["results"]["drift"]
    assert len(drift["columns"]) == 30 and drift["share_drifted"] == pytest.approx(
        sum(c["drifted"] for c in drift["columns"]) / 30)
    assert {g["name"]: g["status"] for g in result.metrics["gates"]} == {"domain_auc": "pass", "drift_share": "pass"}
    html = (out / "report.html").read_text()
    assert "Data drift" in html and "Domain classifier" in html


@pytest.mark.parametrize("ci,said", [([0.62, 0.71], "a classifier tells the two apart: ROC AUC 0.665 [0.620, 0.710], "
                                                    "above 0.5"),
                                     ([0.45, 0.61], "a classifier cannot tell the two apart: ROC AUC 0.665 [0.450, "
                                                    "0.610] holds 0.5"),
                                     (None, "(no interval; 0.5: it cannot)")])
def test_the_domain_verdict_follows_its_interval(ci, said):
    from postreport.analyses.drift import DriftResult

    columns = [{"name": "x0", "drifted": True, "importance": 0.4}, {"name": "x1", "drifted": False, "importance": 0.6}]
    r = DriftResult(columns, 0.1, 100, 100, {"auc": 0.665, "auc_ci": ci, "top_columns": ["x0"], "rows": [100, 100]})
    assert said in r.headline() and r.headline().startswith("Drift from the training rows to the test rows: 1 of 2")
    assert r.gate_values() == {"drift_share": (0.5, None), "domain_auc": (0.665, ci)}


@pytest.mark.slow
def test_a_reference_file_against_logged_predictions(tmp_path):
    """Production: logged predictions with their feature columns against a reference file of training rows: the
    shifted number and the text column with a changed mix are the ones flagged; a missing file is exit 2's error."""
    from conftest import run_report

    from postreport.errors import UserError

    rng = np.random.default_rng(5)
    n = 3000
    ref = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.normal(50, 5, n),
                        "plan": rng.choice(["basic", "pro"], n, p=[0.7, 0.3])})
    y = rng.integers(0, 2, n)
    logged = pd.DataFrame({"age": rng.normal(46, 10, n), "income": rng.normal(50, 5, n),
                           "plan": rng.choice(["basic", "pro"], n, p=[0.5, 0.5]), "y_true": y,
                           "y_pred": np.where(rng.random(n) < 0.8, y, 1 - y)})
    ref.to_csv(tmp_path / "reference.csv", index=False)
    logged.to_parquet(tmp_path / "logged.parquet")
    args = ["data=predictions", f"data.path={tmp_path / 'logged.parquet'}", "report.analyses=[metrics,drift]"]
    result, _ = run_report(tmp_path, args + [f"analyses.drift.reference={tmp_path / 'reference.csv'}"])
    drift = result.metrics["results"]["drift"]
    assert {c["name"] for c in drift["columns"] if c["drifted"]} == {"age", "plan"}
    assert drift["reference"].endswith("reference.csv") and drift["n_reference"] == n
    assert drift["domain_classifier"]["auc_ci"][0] > 0.5
    with pytest.raises(UserError, match="analyses.drift.reference='/nonexistent.csv': no such file or folder"):
        run_report(tmp_path / "bad", args + ["analyses.drift.reference=/nonexistent.csv"])
    # DuckDB counts each column on the reference's bins where the rows live: the same columns flagged; the category
    # test and every PSI equal the in-memory ones (the reference is smaller than the sample that sets the deciles,
    # so the bins are the same); numbers tested by chi-squared on those bins
    (tmp_path / "folder" / "part=1").mkdir(parents=True)
    ref.to_parquet(tmp_path / "folder" / "part=1" / "reference.parquet")  # a folder as reference
    engine, _ = run_report(tmp_path / "duckdb", args + ["data.engine=duckdb",
                                                        f"analyses.drift.reference={tmp_path / 'folder'}"])
    counted = {c["name"]: c for c in engine.metrics["results"]["drift"]["columns"]}
    assert {c for c in counted if counted[c]["drifted"]} == {"age", "plan"}
    for c in drift["columns"]:
        assert counted[c["name"]]["psi"] == pytest.approx(c["psi"], rel=1e-9)
    plan = next(c for c in drift["columns"] if c["name"] == "plan")
    assert counted["plan"]["p_value"] == pytest.approx(plan["p_value"], rel=1e-9)
    assert counted["age"]["test"] == "chi-squared on the reference's deciles"
    assert counted["age"]["effect"]["value"] == pytest.approx(0.6, abs=0.1)  # 6 / 10: the shift in sds, binned


def test_the_shift_intervals_cover_with_and_without_drift():
    """The signed shifts' intervals hold the true value at about their level, also when nothing moved (where a
    distance's bootstrap interval never does): the mean shift in reference sds, and the largest change of one
    category's share (simultaneous over the categories, so the picked one keeps its coverage)."""
    from postreport.stats.proportions import z_for

    rng = np.random.default_rng(7)
    reps = 800
    for delta in (0.0, 0.2):
        hits = 0
        for _ in range(reps):
            a, b = rng.normal(10, 2, 500), rng.normal(10 + 2 * delta, 2.5, 800)
            _, ci = st.mean_shift((500, a.mean(), a.var(ddof=1)), (800, b.mean(), b.var(ddof=1)), 1.96)
            hits += ci[0] <= delta <= ci[1]
        assert 0.93 <= hits / reps <= 0.97, (delta, hits / reps)
    levels = ["a", "b", "c", "d"]
    for mix in ([0.4, 0.3, 0.2, 0.1], [0.3, 0.3, 0.3, 0.1]):
        hits = 0
        for _ in range(reps):
            r = np.bincount(rng.choice(4, 600, p=[0.4, 0.3, 0.2, 0.1]), minlength=4)
            c = np.bincount(rng.choice(4, 900, p=mix), minlength=4)
            which, change, ci = st.largest_share_change(levels, r, c, lambda k: z_for(1 - 0.05 / k))
            truth = mix[levels.index(which)] - [0.4, 0.3, 0.2, 0.1][levels.index(which)]
            hits += ci[0] <= truth <= ci[1]
        assert hits / reps >= 0.93, (mix, hits / reps)


def test_a_reference_column_read_as_text_is_compared_as_numbers_on_the_values_that_parse():
    """One value '13.5x' makes a reference CSV column text: it was tested as ~500 one-row categories (JS 1.0,
    'drifted: false') and the column's shift (x1.3) was lost. Now it is compared as numbers, the bad value missing,
    with a note naming it, and the shift is found (scipy's KS test on the parsed values); a text column that is not
    mostly numbers beside a numeric one is an error naming the column."""
    from scipy.stats import ks_2samp

    from postreport.analyses.drift import DriftSettings, as_numbers, column_drift
    from postreport.errors import UserError

    rng = np.random.default_rng(0)
    ref_values = rng.normal(10, 2, 500).round(3)
    ref = pd.DataFrame({"x": [str(v) for v in ref_values[:-1]] + ["13.5x"]})
    cur = pd.DataFrame({"x": rng.normal(10, 2, 500) * 1.3})
    notes = []
    as_numbers(ref, cur, "x", "ref.csv", notes)
    assert ref["x"].dtype.kind == "f" and ref["x"].isna().sum() == 1
    assert "'x' is numeric in the data but text in the reference: 1 of its 500" in notes[0] and "13.5x" in notes[0]
    column = column_drift("x", ref["x"], cur["x"], DriftSettings())
    assert column["kind"] == "numeric" and column["p_value"] < 1e-6  # the x1.3 shift is found
    assert column["p_value"] == pytest.approx(ks_2samp(ref_values[:-1], cur["x"]).pvalue, rel=1e-6)
    words = pd.DataFrame({"x": ["red", "blue"] * 250})
    with pytest.raises(UserError, match="column 'x' is numeric in the data but text in the reference"):
        as_numbers(words, cur.copy(), "x", "ref.csv", [])
