"""Reports on many classes (500 is a real case): the PDF prints the telling rows of a one-row-per-class table (the
weakest, the largest and smallest) and says so, the HTML keeps every row, and the figures show the same classes
(a page cannot label 500 bars or a 500 x 500 matrix). Checked against selections computed here independently."""
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from postreport.analyses.confusion import ConfusionMatrixAnalysis, confusion
from postreport.analyses.per_class import PerClassAnalysis, PerClassResult, per_class
from postreport.report.figures import Bars, Panels
from postreport.report.build import class_balance
from postreport.report.model import PRINT_ROWS, Figure, Report, Section, Table
from postreport.report.render_html import render_html

K = 120  # classes


def predictions(seed=0, n=6000):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    skill = rng.uniform(0.3, 0.95, K)  # each class found with its own recall
    pred = np.where(rng.random(n) < skill[y], y, rng.integers(0, K, n))
    return y, pred


class Rows(HTMLParser):
    """Each table's caption and its body's rows (first cell) in an HTML page."""

    def __init__(self):
        super().__init__()
        self.tables, self.where, self.cell = [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self.where = "caption"
        elif tag == "tbody":
            self.where = "body"
        elif tag == "tr" and self.where == "body":
            self.tables[-1]["rows"].append(None)
        elif tag == "td" and self.where == "body" and self.tables[-1]["rows"][-1] is None:
            self.cell = True

    def handle_endtag(self, tag):
        if tag in ("caption", "tbody"):
            self.where = None
        self.cell = False

    def handle_data(self, data):
        if self.where == "caption":
            self.tables[-1]["caption"] += data
        elif self.cell:
            self.tables[-1]["rows"][-1] = data


def pages(items) -> tuple:
    report = Report(title="t", author="", created="2026-12-05T00:00:00+00:00", subtitle="", keywords=[],
                    headline=[], sections=[Section("s", "S", items=items)], appendix=[])
    screen, printed = Rows(), Rows()
    screen.feed(render_html(report, for_print=False))
    printed.feed(render_html(report, for_print=True))
    return screen.tables, printed.tables


def test_per_class_prints_the_weakest_and_draws_them():
    y, pred = predictions()
    labels = [f"class {k}" for k in range(K)]
    result = PerClassResult(per_class(y, pred, labels), None)
    table, figure = PerClassAnalysis().items(result)
    f1 = skm.f1_score(y, pred, labels=range(K), average=None, zero_division=0)
    weakest = np.argsort(f1, kind="stable")[:PRINT_ROWS]
    assert table.print_rows == sorted(weakest.tolist())
    assert figure.spec.labels == [labels[k] for k in weakest]  # weakest first
    assert figure.spec.values == [f1[k] for k in weakest]
    screen, printed = pages([table])
    assert screen[0]["rows"] == labels
    assert printed[0]["rows"] == [labels[k] for k in sorted(weakest)]
    assert f"prints {PRINT_ROWS} of the {K} rows: the {PRINT_ROWS} classes with the lowest F1" in printed[0]["caption"]
    assert "prints" not in screen[0]["caption"]


def test_confusion_draws_the_classes_in_most_errors_and_prints_the_lowest_recall():
    y, pred = predictions(1)
    labels = [f"c{k}" for k in range(K)]
    result = confusion(np.array(labels)[y], np.array(labels)[pred], labels)
    items = ConfusionMatrixAnalysis().items(result)
    figure = next(i for i in items if isinstance(i, Figure))
    matrix = skm.confusion_matrix(y, pred, labels=range(K))
    errors = matrix.sum(axis=0) + matrix.sum(axis=1) - 2 * np.diag(matrix)
    drawn = sorted(np.argsort(-errors, kind="stable")[:PRINT_ROWS].tolist())
    assert isinstance(figure.spec, Panels)
    counts, shares = figure.spec.panels
    assert counts.x_labels == [labels[k] for k in drawn]
    assert np.array_equal(counts.values, matrix[np.ix_(drawn, drawn)])
    rows = matrix.sum(axis=1)
    assert np.allclose(shares.values, matrix[np.ix_(drawn, drawn)] / rows[drawn][:, None])  # shares of whole rows
    assert f"the {PRINT_ROWS} of the {K} classes in the most errors" in figure.caption
    table = next(i for i in items if isinstance(i, Table) and i.columns[0] == "Class")
    recall = np.diag(matrix) / rows
    assert table.print_rows == sorted(np.argsort(recall, kind="stable")[:PRINT_ROWS].tolist())


def test_class_balance_prints_the_largest_and_smallest():
    rng = np.random.default_rng(2)
    labels = [f"k{j}" for j in range(K)]
    y = pd.Series(np.array(labels)[rng.choice(K, 8000, p=rng.dirichlet(np.ones(K)))])
    table, figure = class_balance(SimpleNamespace(y_train=None, y_test=y, weights=None, labels=labels))
    counts = y.value_counts().reindex(labels, fill_value=0).to_numpy()
    order = np.argsort(-counts, kind="stable")
    half = PRINT_ROWS // 2
    expected = set(order[:half].tolist()) | set(order[::-1][:PRINT_ROWS - half].tolist())
    assert table.print_rows == sorted(expected)
    assert figure.spec.values == sorted((int(counts[k]) for k in expected), reverse=True)


def test_few_classes_print_every_row_and_draw_every_class():
    y, pred = np.array([0, 1, 2, 2, 1, 0]), np.array([0, 2, 2, 2, 1, 1])
    table, figure = PerClassAnalysis().items(PerClassResult(per_class(y, pred, ["a", "b", "c"]), None))
    assert table.print_rows is None and figure.spec.labels == ["a", "b", "c"]
    result = confusion(np.array(list("abccba")), np.array(list("acccbb")), ["a", "b", "c"])
    items = ConfusionMatrixAnalysis().items(result)
    assert next(i for i in items if isinstance(i, Figure)).spec.panels[0].x_labels == ["a", "b", "c"]
    assert isinstance(figure.spec, Bars)


# ---- the macro ROC AUC's interval without resampling (DeLong), when ranking every class per resample is too much --

def scored(rng, n, k, signal=1.0):
    y = rng.integers(0, k, n)
    logit = rng.normal(size=(n, k))
    logit[np.arange(n), y] += signal
    proba = np.exp(logit)
    return y, proba / proba.sum(axis=1, keepdims=True)


def test_delong_macro_auc_is_scikit_learns_with_the_jackknifes_spread():
    from postreport.stats.ranking import macro_auc_interval

    rng = np.random.default_rng(3)
    y, proba = scored(rng, 160, 4)
    proba = proba.round(2)  # ties
    macro, (lo, hi) = macro_auc_interval(y, proba, 1.96)
    assert macro == pytest.approx(np.mean([skm.roc_auc_score(y == k, proba[:, k]) for k in range(4)]), abs=1e-12)
    leave_one_out = [np.mean([skm.roc_auc_score(np.delete(y, i) == k, np.delete(proba[:, k], i)) for k in range(4)])
                     for i in range(len(y))]
    jackknife = np.sqrt((len(y) - 1) * np.var(leave_one_out))
    assert (np.log(hi / (1 - hi)) - np.log(lo / (1 - lo))) / (2 * 1.96) * macro * (1 - macro) == \
        pytest.approx(jackknife, rel=0.05)


def test_delong_macro_auc_interval_covers_at_its_level():
    from postreport.stats.ranking import macro_auc_interval

    rng = np.random.default_rng(4)
    truth = macro_auc_interval(*scored(rng, 400_000, 6), 1.96)[0]  # the population's value, near enough
    reps = 400
    hits = sum(lo <= truth <= hi for _, (lo, hi) in (macro_auc_interval(*scored(rng, 600, 6), 1.96)
                                                      for _ in range(reps)))
    assert 0.92 <= hits / reps <= 0.98


def test_past_the_ranking_budget_the_bootstrap_gives_way_to_delong(monkeypatch):
    from postreport.stats import bootstrap
    from postreport.config import BootstrapConfig
    from postreport.stats.metrics import multiclass_metrics
    from postreport.stats.ranking import macro_auc_interval

    rng = np.random.default_rng(5)
    y, proba = scored(rng, 500, 5)
    settings = BootstrapConfig(resamples=200)
    ranked = bootstrap.multiclass(y, proba.argmax(axis=1), 5, proba, settings, 0)
    # ranked: the resamples are there (for paired differences), the printed interval is DeLong's all the same
    assert "roc_auc" in ranked.samples and ranked.fixed["roc_auc"] == macro_auc_interval(y, proba, 1.959963984540054)[1]
    monkeypatch.setattr(bootstrap, "MAX_RANKING_WORK", 200 * 500 * 5 - 1)
    assert not bootstrap.ranks_every_class(200, 500, 5)
    delong = bootstrap.multiclass(y, proba.argmax(axis=1), 5, proba, settings, 0)
    assert delong.fixed["roc_auc"] == macro_auc_interval(y, proba, 1.959963984540054)[1]
    assert "average_precision" not in delong.samples and "DeLong" in delong.notes[0]
    assert np.array_equal(delong.samples["accuracy"], ranked.samples["accuracy"])  # the same resamples otherwise
    labels = list("abcde")
    result = multiclass_metrics(np.array(labels)[y], np.array(labels)[proba.argmax(axis=1)], proba, labels,
                                labels).with_intervals(delong)
    assert result.ci["roc_auc"] == delong.fixed["roc_auc"] and result.flag("roc_auc") == "DeLong"
    assert result.ci["average_precision"] is None and result.flag("accuracy") == ""


def test_a_long_list_of_score_columns_is_named_in_part():
    from postreport.data.labels import SHOWN_PAIRS, score_columns_by_class

    labels = [f"c{k}" for k in range(40)]
    by_class, said = score_columns_by_class([f"p_{c}" for c in labels], None, labels, "multiclass", None)
    assert by_class == [f"p_{c}" for c in labels]
    assert said.count(" is ") == SHOWN_PAIRS and "and 30 more, each column naming its class" in said


def test_the_pdfs_tables_break_long_runs_and_the_screen_keeps_them():
    from postreport.report.model import KeyValues

    label = "x" * 2000
    screen, printed = pages([Table(["Class", "F1"], [[label, 0.5]], caption="c " + "y" * 50),
                             KeyValues([("Command line", "postreport " + "z" * 900)])])
    assert screen[0]["rows"] == [label]
    cell = printed[0]["rows"][0]
    assert cell.replace("\u200b", "") == label and max(map(len, cell.split("\u200b"))) <= 20
    assert max(len(run) for run in printed[0]["caption"].replace("\u200b", " ").split()) <= 20


def pdf_pages(items: list) -> list:
    import io

    from pypdf import PdfReader

    from postreport.report.render_pdf import render_pdf

    report = Report(title="t", author="", created="2026-12-05T00:00:00+00:00", subtitle="", keywords=[], headline=[],
                    sections=[Section("s", "S", items=items)], appendix=[])
    pdf = render_pdf(render_html(report, for_print=True), report, [])
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


CAPTION = ("CAPTIONSTART Areas under the curves; a random ranking scores 0.5 ROC AUC and the prevalence as average "
           "precision. A caption of three lines, as the per-class tables' captions are.")


def table_of(rows: int) -> Table:
    return Table(["Class", "ROC AUC", "Average precision", "Prevalence"],
                 [[f"class {k}", 0.5, 0.25, 0.01] for k in range(rows)], caption=CAPTION)


def test_a_table_that_moves_to_the_next_page_takes_its_caption_along():
    """A table of up to 25 rows is kept whole: when it does not fit below the text it goes to the next page with its
    caption (WeasyPrint left the caption behind until the caption was made unbreakable)."""
    from postreport.report.model import Paragraph

    pages = pdf_pages([Paragraph("text") for _ in range(22)] + [table_of(25)])
    assert [k for k, text in enumerate(pages) if "CAPTIONSTART" in text] == \
        [k for k, text in enumerate(pages) if "class 0" in text] == \
        [k for k, text in enumerate(pages) if "class 24" in text] == [len(pages) - 1]


def test_a_longer_table_continues_on_the_next_page_with_its_header():
    """A table of more than 25 rows starts where it is (caption and first rows with the text above it, so that a
    heading is never left alone) and continues on the next page under its header repeated."""
    from postreport.report.model import Paragraph

    pages = pdf_pages([Paragraph("text") for _ in range(15)] + [table_of(PRINT_ROWS)])
    start = [k for k, text in enumerate(pages) if "CAPTIONSTART" in text]
    assert start == [k for k, text in enumerate(pages) if "class 0" in text] == [len(pages) - 2]
    assert "class 29" in pages[-1] and "Average precision" in pages[-1] and "text" in pages[start[0]]
