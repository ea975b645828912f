"""Messy CSV files made by Hypothesis: whatever they hold, the command ends with exit 0, 1 or 2, never a traceback,
and the report files are complete (metrics.json parses, report.html is whole) or absent."""
import json
import shutil

import pytest

from conftest import cli

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a test dependency (pip install -e '.[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NAMES = ["a", "b", "c", "price, USD", "ratio:a", "$\\frac$", "{j}", "日本", "a b", "<b>x</b>", "y"]
ODD = ["?", "n/a", "-", "", "NA", "inf", "-inf", "1e309", "$0-$100", "<script>", "2024-01-02", "True", "0x1F"]
SECTIONS = "[metrics,per_class,confusion_matrix,curves,calibration,thresholds,residuals,slices,errors]"


@st.composite
def messy_csv(draw) -> str:
    n = draw(st.integers(min_value=1, max_value=40))
    names = draw(st.lists(st.sampled_from(NAMES[:-1]), min_size=1, max_size=4)) + ["y"]
    columns = []
    for _ in names[:-1]:
        kind = draw(st.sampled_from(["float", "int", "text", "odd", "date", "empty"]))
        cell = {"float": st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
                "int": st.integers(-5, 5).map(str), "text": st.sampled_from(["red", "blue", "<i>", "$x$", ""]),
                "odd": st.one_of(st.floats(-3, 3).map(lambda v: f"{v:.2f}"), st.sampled_from(ODD)),
                "date": st.dates().map(str), "empty": st.just("")}[kind]
        columns.append(draw(st.lists(cell, min_size=n, max_size=n)))
    target = {"binary": st.sampled_from(["yes", "no"]), "classes": st.sampled_from(["a", "b", "c", "$d$"]),
              "number": st.floats(-100, 100).map(lambda v: f"{v:.3f}"), "ints": st.integers(0, 40).map(str),
              "gappy": st.sampled_from(["0", "1", "", "?"])}[draw(st.sampled_from(["binary", "classes", "number",
                                                                                     "ints", "gappy"]))]
    columns.append(draw(st.lists(target, min_size=n, max_size=n)))

    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\n') else value

    rows = [",".join(quoted(name) for name in names)]
    rows += [",".join(quoted(col[i]) for col in columns) for i in range(n)]
    return "\n".join(rows) + "\n"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@pytest.mark.slow
@given(text=messy_csv())
def test_messy_csv_files_end_cleanly(tmp_path, text):
    (tmp_path / "messy.csv").write_text(text, encoding="utf-8")
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    proc = cli(["data=file", "data.path=messy.csv", "data.target=y", f"report.analyses={SECTIONS}",
                "report.formats=[html,json]", "bootstrap.resamples=50"], cwd=tmp_path)
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    out = tmp_path / "out"
    if proc.returncode == 2:
        assert not (out / "metrics.json").exists() and not (out / "report.html").exists()
    else:
        json.loads((out / "metrics.json").read_text())
        assert (out / "report.html").read_text().rstrip().endswith("</html>")
