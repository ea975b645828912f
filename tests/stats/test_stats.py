"""postreport.stats on arrays, each against an independent computation: Wilson intervals (statsmodels), the
calibration intercept and slope with their standard errors (statsmodels' Logit), reliability bins (hand-worked),
ranks and rank-form ROC AUC (scipy, scikit-learn), slices of a column (pandas, hand-worked)."""
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from scipy.stats import rankdata

from postreport.stats.calibration import bin_edges, ece_samples, logistic_recalibration, reliability
from postreport.stats.groups import MISSING, OTHER, frequent, slice_labels
from postreport.stats.proportions import wilson, z_for
from postreport.stats.ranking import midranks, rank_auc


@pytest.mark.parametrize("k,n", [(0, 5), (1, 1), (3, 10), (17, 40), (199, 200), (500, 1000)])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_wilson_equals_statsmodels(k, n, level):
    from statsmodels.stats.proportion import proportion_confint

    expected = proportion_confint(k, n, alpha=1 - level, method="wilson")
    assert wilson(k, n, z_for(level)) == pytest.approx(list(expected), abs=1e-12)


def test_logistic_recalibration_equals_statsmodels_logit():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    score = np.clip(rng.beta(2, 3, 3000), 1e-6, 1 - 1e-6)
    true_logit = 0.3 + 0.6 * np.log(score / (1 - score))  # scores too extreme: slope below 1
    outcome = (rng.random(3000) < 1 / (1 + np.exp(-true_logit))).astype(float)
    (intercept, slope), (se_intercept, se_slope) = logistic_recalibration(score, outcome)
    fit = sm.Logit(outcome, sm.add_constant(np.log(score / (1 - score)))).fit(disp=0)
    assert (intercept, slope) == pytest.approx(tuple(fit.params), rel=1e-7)
    assert (se_intercept, se_slope) == pytest.approx(tuple(fit.bse), rel=1e-6)
    # weights are rows per entry: the same rows aggregated give the same fit
    keys, inverse, counts = np.unique(np.column_stack([score.round(2), outcome]), axis=0, return_inverse=True,
                                      return_counts=True)
    rounded = logistic_recalibration(score.round(2), outcome)
    grouped = logistic_recalibration(keys[:, 0], keys[:, 1], weight=counts.astype(float))
    assert grouped[0] == pytest.approx(rounded[0], rel=1e-9) and grouped[1] == pytest.approx(rounded[1], rel=1e-9)


def test_logistic_recalibration_is_none_under_separation():
    score = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert logistic_recalibration(score, (score > 0.5).astype(float)) is None


def test_reliability_bins_hand_worked():
    score = np.array([0.05, 0.15, 0.15, 0.55, 0.95, 0.95])
    outcome = np.array([0, 0, 1, 1, 1, 0])
    edges = bin_edges(score, 10, "uniform")
    assert edges == pytest.approx(np.linspace(0, 1, 11))
    r = reliability(score, outcome, edges)
    assert r.count == [1, 2, 1, 2]  # the bins that hold rows: [0, .1), [.1, .2), [.5, .6), [.9, 1]
    assert r.mean_predicted == pytest.approx([0.05, 0.15, 0.55, 0.95])
    assert r.fraction_positive == pytest.approx([0.0, 0.5, 1.0, 0.5])
    # ECE: the bins' |observed - predicted| weighted by their rows
    assert r.ece == pytest.approx((0.05 + 2 * 0.35 + 0.45 + 2 * 0.45) / 6)
    quantile = bin_edges(np.linspace(0, 1, 101), 4, "quantile")
    assert quantile == pytest.approx([0, 0.25, 0.5, 0.75, 1])


def test_ece_samples_are_a_bootstrap_of_the_rows():
    rng = np.random.default_rng(0)
    score = rng.random(2000)
    outcome = (rng.random(2000) < score).astype(int)
    edges = bin_edges(score, 10, "uniform")
    samples = ece_samples(score, outcome, edges, 400, seed=1)
    assert samples.shape == (400,)
    direct = []  # the same statistic on rows drawn with replacement
    for b in range(400):
        rows = rng.integers(0, 2000, 2000)
        direct.append(reliability(score[rows], outcome[rows], edges).ece)
    assert np.mean(samples) == pytest.approx(np.mean(direct), abs=0.004)
    assert np.std(samples) == pytest.approx(np.std(direct), rel=0.2)
    assert np.array_equal(samples, ece_samples(score, outcome, edges, 400, seed=1))  # seeded


def test_midranks_and_rank_auc_equal_scipy_and_sklearn_with_ties():
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = int(rng.integers(5, 300))
        score = np.round(rng.random(n), int(rng.integers(1, 3)))  # one or two decimals: many ties
        positive = rng.random(n) < 0.3
        assert midranks(score) == pytest.approx(rankdata(score))
        if positive.any() and not positive.all():
            assert rank_auc(positive, score) == pytest.approx(skm.roc_auc_score(positive, score), abs=1e-12)
    assert np.isnan(rank_auc(np.ones(4, dtype=bool), np.arange(4.0)))


def test_slices_bin_numbers_by_quantile_and_keep_the_frequent_levels():
    values = pd.Series(np.r_[np.arange(100.0), [np.nan] * 5])
    labels = slice_labels(values, bins=4, max_levels=10)
    assert list(labels.cat.categories)[-1] == MISSING and len(labels.cat.categories) == 5
    counts = labels.value_counts(sort=False).tolist()
    assert counts == [25, 25, 25, 25, 5]
    assert labels.cat.ordered
    text = pd.Series(["b"] * 5 + ["a"] * 5 + ["c"] * 3 + ["d"] + [None] * 2)
    labels = slice_labels(text, bins=4, max_levels=2)
    assert list(labels.cat.categories) == ["a", "b", OTHER]  # ties by value; missing joins the rest
    assert int((labels == OTHER).sum()) == 6
    assert frequent(pd.Series({"x": 3, "y": 3, "w": 1}), 2) == ["x", "y"]


def test_slice_groups_cover_every_test_row_once_per_column():
    from types import SimpleNamespace

    from postreport.stats.groups import auto_columns, slice_groups

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"shop": pd.Categorical(rng.choice(["a", "b", "c"], 200)), "size": rng.normal(size=200),
                      "id_like": np.arange(200) % 3, "flag": pd.Categorical(["x"] * 200)})
    data = SimpleNamespace(X_test=X, categorical=["shop", "flag"], features=list(X.columns))
    assert auto_columns(data) == ["shop", "size"]  # a one-level category and a 3-valued number are not sliced
    groups = list(slice_groups(data, None, bins=4, max_levels=12))
    for column in ("shop", "size"):
        positions = np.concatenate([idx for c, _, idx in groups if c == column])
        assert np.array_equal(np.sort(positions), np.arange(200)), column
    shop = {value: idx for c, value, idx in groups if c == "shop"}
    assert all((X["shop"].iloc[idx] == value).all() for value, idx in shop.items())
    rows = np.arange(50, 150)  # positions among these rows
    part = {value: idx for c, value, idx in slice_groups(data, ["shop"], 4, 12, rows)}
    assert sum(len(i) for i in part.values()) == 100
    assert all((X["shop"].iloc[rows[idx]] == value).all() for value, idx in part.items())


def test_auto_columns_on_a_wide_frame_reads_the_categorical_columns_once():
    """2,000 columns: the categorical list was rebuilt for every feature (4M column reads, 38 s per section)."""
    from postreport.stats.groups import AUTO_COLUMNS, auto_columns

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(50, 2000)), columns=[f"x{i}" for i in range(2000)])
    X["x3"] = pd.Categorical(rng.choice(["a", "b"], 50))
    reads = []

    class Wide:
        X_test, features = X, list(X.columns)

        @property
        def categorical(self):
            reads.append(1)
            return [c for c, dtype in X.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)]

    chosen = auto_columns(Wide())
    assert len(reads) == 1
    assert chosen == ["x3"] + [f"x{i}" for i in range(AUTO_COLUMNS) if i != 3][:AUTO_COLUMNS - 1]


@pytest.mark.parametrize("K,n", [(3, 60), (7, 300)])
def test_hand_till_auc_equals_sklearns_ovo_macro(K, n):
    from postreport.stats.ranking import hand_till_auc, ovr_macro_auc

    rng = np.random.default_rng(K)
    y = np.r_[np.arange(K), rng.integers(0, K, n - K)]
    proba = rng.dirichlet(np.ones(K), n).round(2)  # rounded: ties
    proba /= proba.sum(axis=1, keepdims=True)
    proba[np.arange(n), y] += rng.random(n) * 0.3  # some signal
    proba /= proba.sum(axis=1, keepdims=True)
    assert hand_till_auc(y, proba) == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovo", average="macro"))
    assert ovr_macro_auc(y, proba) == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    # it only ranks: scores that are not probabilities get it (whether they are is decided where they are read)
    assert ovr_macro_auc(y, proba * 2) == pytest.approx(ovr_macro_auc(y, proba))


def test_numpy_curves_and_confusion_equal_scikit_learns():
    """The report's own ROC / PR curves, areas and confusion matrix (no scikit-learn import on the logged-predictions
    path) against scikit-learn's, with tied scores, sample weights and labels outside the list."""
    import sklearn.metrics as skm

    from postreport.stats import curves

    rng = np.random.default_rng(8)
    for n, weighted in ((50, False), (3000, False), (3000, True)):
        y = rng.integers(0, 2, n)
        score = np.round(np.clip(rng.normal(0.4 + 0.2 * y, 0.25), 0, 1), 2)  # many ties
        w = rng.integers(1, 5, n).astype(float) if weighted else None
        for ours, theirs in zip(curves.roc_curve(y, score, w), skm.roc_curve(y, score, sample_weight=w)):
            np.testing.assert_allclose(ours, theirs)
        for ours, theirs in zip(curves.precision_recall_curve(y, score, w),
                                skm.precision_recall_curve(y, score, sample_weight=w)):
            np.testing.assert_allclose(ours, theirs)
        fpr, tpr, _ = curves.roc_curve(y, score, w)
        assert curves.auc(fpr, tpr) == pytest.approx(skm.roc_auc_score(y, score, sample_weight=w), rel=1e-12)
        assert curves.average_precision(y, score, w) == pytest.approx(
            skm.average_precision_score(y, score, sample_weight=w), rel=1e-12)
    labels = ["a", "b", "c"]
    t, p = rng.choice(labels, 200), rng.choice(labels + ["d"], 200)
    w = rng.random(200)
    np.testing.assert_array_equal(curves.confusion_matrix(t, p, labels), skm.confusion_matrix(t, p, labels=labels))
    np.testing.assert_allclose(curves.confusion_matrix(t, p, labels, w),
                               skm.confusion_matrix(t, p, labels=labels, sample_weight=w))
    t, p = rng.integers(0, 4, 500), rng.integers(0, 5, 500)  # numbers: the vectorised look-up, 4 outside [0, 1, 3]
    np.testing.assert_array_equal(curves.confusion_matrix(t, p, [3, 0, 1]),
                                  skm.confusion_matrix(t, p, labels=[3, 0, 1]))


def test_percentile_interval_by_hand_and_its_too_few_resamples_rule():
    from postreport.stats.intervals import enough_finite, percentile_bounds, percentile_interval

    assert percentile_bounds(np.arange(101), 0.90) == pytest.approx((5.0, 95.0))  # 101 values: the 5th and 95th
    values = np.random.default_rng(0).normal(size=999)
    assert percentile_bounds(values, 0.95) == pytest.approx((np.quantile(values, 0.025), np.quantile(values, 0.975)),
                                                            rel=1e-12)
    with_nan = np.r_[np.arange(101.0), np.nan, np.inf]
    assert percentile_interval(with_nan, 0.90) == pytest.approx([5.0, 95.0])  # undefined resamples left out
    assert percentile_interval(np.r_[np.arange(9.0), np.nan], 0.9) is None  # 9 finite: fewer than 10
    assert percentile_interval(np.r_[np.arange(14.0), [np.nan] * 16], 0.9) is None  # 14 of 30: under half
    assert percentile_interval(np.r_[np.arange(15.0), [np.nan] * 15], 0.9) is not None  # 15 of 30
    assert percentile_interval(np.arange(20.0), 0.9, resamples=50) is None  # 20 of 50 draws defined
    assert enough_finite(10, 20) and not enough_finite(10, 21) and not enough_finite(9, 9)


def test_f1_from_counts_equals_scikit_learns_per_class_and_micro():
    from sklearn.metrics import f1_score

    from postreport.stats.counts import f1_from_counts

    rng = np.random.default_rng(4)
    y, pred = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    tp = np.array([np.sum((y == k) & (pred == k)) for k in range(4)])
    predicted, actual = np.bincount(pred, minlength=4), np.bincount(y, minlength=4)
    np.testing.assert_allclose(f1_from_counts(tp, predicted, actual), f1_score(y, pred, average=None))
    assert f1_from_counts(tp.sum(), predicted.sum(), actual.sum()) == pytest.approx(f1_score(y, pred, average="micro"))
    assert f1_from_counts(3, 4, 6) == pytest.approx(2 / (4 / 3 + 6 / 3))  # precision 3/4, recall 3/6: harmonic mean
    with np.errstate(invalid="ignore"):
        assert np.isnan(f1_from_counts(np.array(0), np.array(0), np.array(0)))  # undefined: the caller decides


def test_the_mean_of_repeats_has_students_t_interval():
    from scipy.stats import t

    from postreport.stats.intervals import repeat_interval

    drops = [0.012, 0.004, 0.009, 0.015, 0.006]
    expected = t.interval(0.9, 4, loc=np.mean(drops), scale=np.std(drops, ddof=1) / np.sqrt(5))
    assert repeat_interval(drops, 0.9) == pytest.approx(expected)
    assert repeat_interval([0.0] * 5, 0.95) == [0.0, 0.0] and repeat_interval([0.3], 0.95) is None
