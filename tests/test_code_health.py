"""Bugs of the run's plumbing: statuses settled before any file is written; shared work keyed by its inputs."""
import json
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import cli, run_report

FAILING = '''
from postreport.analyses.base import Analysis


class Broken(Analysis):
    name = "broken"
    title = "Broken analysis"

    def compute(self, ctx, settings):
        raise RuntimeError("deliberate failure for the test")


class ItemsFail(Analysis):
    name = "items_fail"
    title = "Items that fail"

    def compute(self, ctx, settings):
        class Result:
            def to_json(self):
                return {"computed": True}
        return Result()

    def items(self, result):
        raise ValueError("deliberate failure while building the items")


class FigureFail(ItemsFail):
    name = "figure_fail"
    title = "A figure that cannot be drawn"

    def items(self, result):
        from postreport.report.model import Figure

        return [Figure(spec="not a figure spec")]
'''


@pytest.mark.slow
def test_a_failing_section_is_failed_in_every_format_and_the_rest_renders(tmp_path):
    """Sections that fail in compute, in building their items or in drawing a figure: exit 1, the same status in
    metrics.json, the PDF's attached copy and the HTML, and every other section rendered."""
    plugin = tmp_path / "plugin"
    (plugin / "failing-0.1.dist-info").mkdir(parents=True)
    (plugin / "failing.py").write_text(FAILING)
    (plugin / "failing-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: failing\nVersion: 0.1\n")
    (plugin / "failing-0.1.dist-info" / "entry_points.txt").write_text(textwrap.dedent("""\
        [postreport.analyses]
        broken = failing:Broken
        items_fail = failing:ItemsFail
        figure_fail = failing:FigureFail
    """))
    proc = cli(["data=iris", "report.analyses=[metrics,broken,items_fail,figure_fail,confusion_matrix]"],
               cwd=tmp_path, env={"PYTHONPATH": str(plugin)})
    assert proc.returncode == 1, proc.stderr
    out = tmp_path / "out"
    doc = json.loads((out / "metrics.json").read_text())
    status = {s["name"]: s for s in doc["sections"]}
    assert status["broken"]["status"] == "failed" and "deliberate failure for the test" in status["broken"]["error"]
    assert status["items_fail"]["status"] == "failed"
    assert "deliberate failure while building the items" in status["items_fail"]["error"]
    assert status["figure_fail"]["status"] == "failed" and "KeyError" in status["figure_fail"]["error"]
    assert status["metrics"]["status"] == status["confusion_matrix"]["status"] == "ok"
    assert set(doc["results"]) == {"metrics", "confusion_matrix"}  # a failed section has no payload
    attached = json.loads(PdfReader(out / "report.pdf").attachments["metrics.json"][0])
    assert attached["sections"] == doc["sections"]
    html = (out / "report.html").read_text()
    assert "deliberate failure while building the items" in html and "deliberate failure for the test" in html
    assert "Confusion matrix" in html


@pytest.mark.slow
def test_attributions_follow_the_importance_settings_whatever_the_section_order(tmp_path):
    """Saliency and importance share attributions only when computed from the same inputs."""
    rows = {}
    for order in ("[saliency,feature_importance]", "[feature_importance,saliency]"):
        result, _ = run_report(tmp_path / order.strip("[]").replace(",", "-"),
                               ["data=iris", "model=random_forest", "model.params.n_estimators=30",
                                f"report.analyses={order}", "analyses.feature_importance.shap_rows=20",
                                "analyses.feature_importance.pdp_features=0"])
        payload = result.metrics["results"]
        rows[order] = (payload["feature_importance"]["attribution"]["rows"], len(payload["saliency"]["rows"]))
    assert rows["[saliency,feature_importance]"] == rows["[feature_importance,saliency]"]
    assert rows["[saliency,feature_importance]"][0] == 20


def test_the_reports_look_is_checked_before_any_work(tmp_path):
    """A bad theme colour or logo stops the run before the data is read (the missing data file is not named)."""
    from postreport.errors import UserError
    from postreport.run.runner import run

    from conftest import make_cfg
    import pytest

    missing = ["data=file", f"data.path={tmp_path / 'absent.csv'}", "data.target=y"]
    for look, culprit in ((["+report.theme.accent='url(http://x)'"], "report.theme.accent"),
                          ([f"report.logo={tmp_path / 'absent.png'}"], "report.logo")):
        with pytest.raises(UserError, match=culprit):
            run(make_cfg([*missing, *look]), tmp_path / "out")
        assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_interval_labels_follow_the_bootstrap_level(tmp_path):
    # tuning.timeout=null: the labels are under test, not the wall-clock budget, which on a busy machine cut the
    # search before its first trial and so left the section out (the cause of this test's failures under load)
    result, out = run_report(tmp_path, ["data=iris", "bootstrap.level=0.9", "bootstrap.resamples=200",
                                        "tuning.n_trials=2", "tuning.timeout=null",
                                        "report.analyses=[metrics,per_class,tuning]"],
                             formats=("html", "json"))
    html = (out / "report.html").read_text()
    import re

    html = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # code (plotly.js), not the report's words
    html = re.sub(r'src="data:[^"]*"', "", html)  # figures: percent-encoded SVG ("...195%22" is not a label)
    assert result.metrics["results"]["metrics"]["ci_level"] == 0.9
    assert "Configured [90% CI]" in html and "95%" not in html


def test_no_import_circle_in_the_package():
    """Every import of the package's own modules, at the top of a file or inside a function (bench/import_cycles.py)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "import_cycles.py"
    spec = importlib.util.spec_from_file_location("import_cycles", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    edges = module.graph()
    assert "postreport.data.warehouse" in edges and "postreport.data.engines" in edges["postreport.data.warehouse"]
    assert module.cycles(edges) == []
    assert module.cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]  # the check can fail


def underscore_imports(package: Path) -> list:
    """(file, line, name) for every use of another module's underscore name in the package: `from .m import _x`,
    and `m._x` where m is a module of the package imported by name."""
    import ast

    found = []
    for path in sorted(package.rglob("*.py")):
        parts = list(path.with_suffix("").relative_to(package.parent).parts)
        is_package = parts[-1] == "__init__"
        module = parts[:-1] if is_package else parts
        tree = ast.parse(path.read_text())
        modules = {}  # local name -> the package module or name it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = module if is_package else module[:-1]
                target = (node.module or "") if node.level == 0 else ".".join(
                    base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
                if target.split(".")[0] != package.name:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append((path.name, node.lineno, f"{target}.{alias.name}"))
                    modules[alias.asname or alias.name] = f"{target}.{alias.name}"
            elif isinstance(node, ast.Import):
                modules.update({a.asname or a.name: a.name for a in node.names if a.name.startswith(package.name)})
        found += [(path.name, node.lineno, f"{modules[node.value.id]}.{node.attr}") for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                  and node.attr.startswith("_") and not node.attr.startswith("__")]
    return found


def test_no_module_uses_another_modules_underscore_names(tmp_path):
    assert underscore_imports(Path(__file__).resolve().parents[1] / "postreport") == []
    fake = tmp_path / "pkg"  # the check can fail: both forms are found
    (fake / "sub").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "a.py").write_text("def _hidden():\n    pass\n")
    (fake / "sub" / "__init__.py").write_text("")
    (fake / "sub" / "b.py").write_text("from ..a import _hidden\nfrom .. import a\na._hidden()\nimport os\nos._exit\n")
    assert sorted(n for _, _, n in underscore_imports(fake)) == ["pkg.a._hidden", "pkg.a._hidden"]


def test_the_top_of_the_package_holds_only_what_a_user_imports_or_runs():
    """Issue 38's layout: the folders are the stages of the flow; at most eight modules sit at the top."""
    package = Path(__file__).resolve().parents[1] / "postreport"
    top = sorted(p.name for p in package.glob("*.py"))
    assert len(top) <= 8, top
    stages = {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert {"run", "planning", "models", "stats", "explain", "data", "analyses", "report", "integrations"} <= stages


def test_the_tests_mirror_the_packages():
    """tests/<package>/test_<...>.py for a package's modules, tests/test_<module>.py for a top-level module (and
    this file, over the whole package): a folder of tests is named after the stage it tests."""
    root = Path(__file__).resolve().parents[1]
    packages = {p.name for p in (root / "postreport").iterdir() if (p / "__init__.py").exists()}
    top = {p.stem for p in (root / "postreport").glob("*.py")} | {"code_health"}
    tests = Path(__file__).resolve().parent
    misplaced = [str(f.relative_to(tests)) for f in tests.rglob("test_*.py")
                 if not (f.parent == tests and f.stem.removeprefix("test_") in top)
                 and not (f.parent.parent == tests and f.parent.name in packages)]
    assert misplaced == []
    assert {p.name for p in tests.iterdir() if p.is_dir() and list(p.glob("test_*.py"))} <= packages
