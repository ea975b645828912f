"""The Python API: the same configs, run and RunResult as the command line."""
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import postreport
from postreport.errors import UserError


@pytest.mark.slow
def test_generate_runs_the_packaged_configs_and_returns_the_run_result(tmp_path):
    result = postreport.generate(["data=iris", "tuning=none", "ensemble=none", "report.analyses=[metrics]",
                                  "report.formats=[json,html]"], output_dir=tmp_path / "out")
    assert isinstance(result, postreport.RunResult) and result.exit_code == 0
    assert result.files["json"].is_file() and result.metrics["task"] == "multiclass"
    shown = result._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "&lt;html" in shown.lower()
    with pytest.raises(UserError, match="nonexistent"):
        postreport.generate(["data=nonexistent"], output_dir=tmp_path / "bad")


def test_generate_finds_configs_in_a_folder_of_ones_own(tmp_path):
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "shallow.yaml").write_text(
        "name: shallow\n_target_: sklearn.tree.DecisionTreeClassifier\npreprocessing: trees\nparams: {max_depth: 2}\n")
    result = postreport.generate(["model=shallow", "tuning=none", "ensemble=none", "report.analyses=[metrics]",
                                  "report.formats=[json]"], output_dir=tmp_path / "out", config_dir=tmp_path / "conf")
    assert result.exit_code == 0 and result.metrics["model"]["name"] == "shallow"
    (tmp_path / "conf" / "model" / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(UserError, match="broken.yaml, line"):
        postreport.generate(["model=shallow"], output_dir=tmp_path / "o2", config_dir=tmp_path / "conf")


def test_from_predictions_takes_arrays_and_frames(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    proba = rng.dirichlet(np.ones(3), 400)
    proba[np.arange(400), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    labels = ["cat", "dog", "o'hare"]  # any label text, quotes included
    names = np.asarray(labels)
    frame = pd.DataFrame({"region": rng.choice(["north", "south"], 400)})
    result = postreport.from_predictions(names[y], scores=proba, labels=labels, frame=frame,
                                         output_dir=tmp_path / "out",
                                         overrides=["report.analyses=[metrics,slices]", "report.formats=[json]"])
    m = result.metrics["metrics"]
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert m["accuracy"] == pytest.approx(np.mean(proba.argmax(axis=1) == y))
    assert any(r["column"] == "region" for r in result.metrics["results"]["slices"]["slices"])
    with pytest.raises(UserError, match="labels"):
        postreport.from_predictions(names[y], scores=proba, output_dir=tmp_path / "bad")


@pytest.mark.slow
def test_model_card_in_hugging_face_format_parses_back_with_the_runs_numbers(tmp_path, monkeypatch):
    from huggingface_hub import ModelCard

    from conftest import run_report

    result, out = run_report(tmp_path, ["report.analyses=[metrics,calibration,slices]",
                                        "card.intended_use=Triage of biopsy reports by a clinician",
                                        "card.license=mit", "+gates={roc_auc: {min: 0.9}}"],
                             formats=("json", "model_card"))
    card = ModelCard((out / "MODEL_CARD.md").read_text())
    assert card.data.model_name == "lightgbm" and card.data.license == "mit" and "breast_cancer" in card.data.datasets
    scores = {e.metric_type: e.metric_value for e in card.data.eval_results}
    for name, value in result.metrics["metrics"].items():
        if value is not None:
            assert scores[name] == pytest.approx(value)
    assert all(e.dataset_split == "test" for e in card.data.eval_results)
    text = card.text
    for heading in ("## Model details and provenance", "## Training and evaluation data", "## Results",
                    "## Slices, fairness and limitations", "## Quality gates", "## Intended use",
                    "## Out-of-scope use"):
        assert heading in text
    assert "Triage of biopsy reports" in text and "To be written" in text  # out-of-scope use not given
    assert "pass: roc_auc" in text and "Calibration:" in text
    import postreport.report.render_card as render_card

    monkeypatch.setattr(render_card, "available", lambda: False)
    with pytest.raises(UserError, match=r"pip install 'postreport\[model_card\]'"):
        run_report(tmp_path / "no", ["report.analyses=[metrics]"], formats=("model_card",))


@pytest.mark.slow
def test_a_notebook_runs_the_api_and_shows_the_report_inline(tmp_path, monkeypatch):
    """Executed by a real Jupyter kernel (nbclient): the last cell's rich output is the report in an iframe."""
    import json
    import sys

    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (no Jupyter kernel to run the notebook)")
    spec = tmp_path / "jupyter" / "kernels" / "postreport-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                                           "{connection_file}"], "display_name": "test",
                                                  "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    out = tmp_path / "report"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import postreport\n"
                                  f"result = postreport.generate(['data=iris', 'tuning=none', 'ensemble=none', "
                                  f"'report.analyses=[metrics]', 'report.formats=[html,json]'], output_dir={str(out)!r})"),
        nbformat.v4.new_code_cell("result"),
        nbformat.v4.new_code_cell("round(result.metrics['metrics']['accuracy'], 6)"),
    ])
    nbclient.NotebookClient(nb, kernel_name="postreport-test", timeout=300).execute()
    shown = nb.cells[1].outputs[0]["data"]["text/html"]
    assert shown.startswith("<iframe srcdoc=")
    accuracy = json.loads((out / "metrics.json").read_text())["metrics"]["accuracy"]
    assert float(nb.cells[2].outputs[0]["data"]["text/plain"]) == round(accuracy, 6)


def test_from_predictions_takes_other_frames_by_name_and_predict_proba_and_refuses_what_is_ambiguous(tmp_path):
    """A pyarrow table (to_pandas) or any frame of the interchange protocol keeps its column names (polars' lost
    them: slices named '0', '1'); scikit-learn's binary predict_proba (n, 2) with labels=[0, 1] is taken by the
    positive class's column; a frame column named `score` (which would be replaced by the scores silently) and
    arrays of the wrong length are errors naming them."""
    import pyarrow as pa

    from postreport.api import as_pandas

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p1 = np.clip(0.5 * y + rng.uniform(0, 0.6, 300), 0, 1)
    table = pa.table({"region": rng.choice(["north", "south"], 300), "age": rng.integers(20, 60, 300)})

    class Interchange:  # only the dataframe interchange protocol, as polars and others offer it
        def __dataframe__(self, *args, **kwargs):
            return table.__dataframe__(*args, **kwargs)

    assert list(as_pandas(Interchange()).columns) == ["region", "age"]
    result = postreport.from_predictions(y, scores=np.column_stack([1 - p1, p1]), labels=[0, 1], frame=table,
                                         output_dir=tmp_path / "out",
                                         overrides=["report.analyses=[metrics,slices]", "report.formats=[json]"])
    assert result.metrics["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert {r["column"] for r in result.metrics["results"]["slices"]["slices"]} >= {"region"}
    with pytest.raises(UserError, match=r"columns named \['score'\]"):
        postreport.from_predictions(y, scores=p1, frame=pd.DataFrame({"score": p1}), output_dir=tmp_path / "b1")
    with pytest.raises(UserError, match="scores has 299 rows and y_true 300"):
        postreport.from_predictions(y, scores=p1[:-1], output_dir=tmp_path / "b2")
    with pytest.raises(UserError, match="y_pred has 301 rows and y_true 300"):
        postreport.from_predictions(y, y_pred=np.append(y, 1), output_dir=tmp_path / "b3")


@pytest.mark.slow
def test_generate_from_two_threads_at_once(tmp_path):
    """Hydra's composition is a process global ("GlobalHydra is already initialized" for the second thread):
    generate composes under a lock, so two threads each get their report, the same numbers as one alone."""
    import threading

    results, errors = {}, []

    def one(k):
        try:
            results[k] = postreport.generate(["data=iris", "tuning=none", "ensemble=none", "report.formats=[json]",
                                              "bootstrap.resamples=50"], output_dir=tmp_path / str(k))
        except Exception as exc:  # noqa: BLE001 - the test reports what a thread raised
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and [results[k].exit_code for k in (0, 1)] == [0, 0]
    assert results[0].metrics["metrics"] == results[1].metrics["metrics"]
