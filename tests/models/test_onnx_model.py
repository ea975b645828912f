"""ONNX models (onnxruntime): scikit-learn models converted with skl2onnx give the original's predictions and metrics
(ZipMap and plain probability outputs, binary, multiclass with text labels, regression); outputs and classes are
found or named; what cannot be read safely is exit 2's error naming the key."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'postreport[onnx]')")
skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx is not installed (the tests convert models with it)")

from postreport.models import onnx_model  # noqa: E402
from postreport.errors import UserError  # noqa: E402


def convert(model, X, path, zipmap=True):
    options = None if zipmap else {id(model): {"zipmap": False}}
    onx = skl2onnx.to_onnx(model, X.to_numpy(np.float32)[:1], options=options, target_opset=17)
    path.write_bytes(onx.SerializeToString())
    return path


def model_cfg(**kw):
    return SimpleNamespace(features=kw.get("features"), outputs=kw.get("outputs", {}), classes=kw.get("classes"))


def dataset(X, y, task):
    labels = [] if task == "regression" else sorted(pd.unique(y).tolist(), key=str)
    return SimpleNamespace(X_test=X.reset_index(drop=True), X_train=None, task=task, labels=labels,
                           features=list(X.columns), image_shape=None, layout="NCHW")


@pytest.fixture(scope="module")
def cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X[:400], y[:400], X[400:], y[400:]


@pytest.mark.parametrize("zipmap", [True, False])
def test_a_converted_binary_model_predicts_as_the_original(cancer, tmp_path, zipmap):
    from sklearn.linear_model import LogisticRegression

    X, y, Xt, yt = cancer
    original = LogisticRegression(max_iter=5000).fit(X, y)
    path = convert(original, X, tmp_path / "lr.onnx", zipmap)
    model, notes = onnx_model.load(path, model_cfg(), dataset(Xt, yt, "binary"), 1)
    assert list(model.classes_) == [0, 1]
    assert (model.predict(Xt) == original.predict(Xt)).mean() >= 0.99  # float32 inside the graph: ties may flip
    np.testing.assert_allclose(model.predict_proba(Xt), original.predict_proba(Xt), atol=1e-4)
    assert any("ZipMap" in n for n in notes) == zipmap


def test_multiclass_text_labels_from_the_zipmap_and_regression(tmp_path):
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LinearRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, names)
    model, _ = onnx_model.load(convert(forest, X, tmp_path / "rf.onnx"), model_cfg(), dataset(X, pd.Series(names),
                                                                                             "multiclass"), 1)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    assert (model.predict(X) == forest.predict(X)).all()
    np.testing.assert_allclose(model.predict_proba(X), forest.predict_proba(X), atol=1e-5)
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    linear = LinearRegression().fit(X, y)
    model, _ = onnx_model.load(convert(linear, X, tmp_path / "lin.onnx"), model_cfg(), dataset(X, y, "regression"), 1)
    np.testing.assert_allclose(model.predict(X), linear.predict(X), rtol=1e-4)


def test_probabilities_without_labels_need_model_classes(tmp_path):
    """A graph whose only output is a probability tensor: which class is which column cannot be read from it, so
    model.classes is required, and then used in that order."""
    import onnx
    from onnx import TensorProto, helper

    weights = np.array([[1.0, -1.0], [0.5, 0.2]], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["logits"]), helper.make_node("Softmax", ["logits"], ["p"], axis=1)],
        "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor("W", TensorProto.FLOAT, [2, 2], weights.ravel())])
    path = tmp_path / "soft.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    X = pd.DataFrame({"a": [1.0, -1.0, 2.0], "b": [0.0, 1.0, 0.5]})
    data = dataset(X, pd.Series(["no", "yes", "no"]), "binary")
    with pytest.raises(UserError, match="set model.classes"):
        onnx_model.load(path, model_cfg(), data, 1)
    model, _ = onnx_model.load(path, model_cfg(classes=["yes", "no"]), data, 1)
    logits = X.to_numpy() @ weights
    expected = np.array(["yes", "no"])[np.argmax(logits, axis=1)]
    assert list(model.predict(X)) == list(expected)


def test_what_cannot_be_read_is_a_clear_error(cancer, tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    X, y, Xt, yt = cancer
    path = convert(LogisticRegression(max_iter=5000).fit(X, y), X, tmp_path / "lr.onnx")
    with pytest.raises(UserError, match="takes 30 columns, the data gives 29"):
        onnx_model.load(path, model_cfg(), dataset(Xt.iloc[:, :29], yt, "binary"), 1)
    with pytest.raises(UserError, match="column 'mean radius' is not numeric"):  # text columns: a categorical
        onnx_model.load(path, model_cfg(), dataset(Xt.assign(**{"mean radius": Xt["mean radius"].astype(str)
                                                                 .astype("category")}), yt, "binary"), 1)
    with pytest.raises(UserError, match="model.features names columns the data lacks"):
        onnx_model.load(path, model_cfg(features=["nope"]), dataset(Xt, yt, "binary"), 1)
    with pytest.raises(UserError, match="model.outputs.labels='nope' is not an output"):
        onnx_model.load(path, model_cfg(outputs={"labels": "nope"}), dataset(Xt, yt, "binary"), 1)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(UserError, match="onnxruntime cannot load it"):
        onnx_model.load(tmp_path / "junk.onnx", model_cfg(), dataset(Xt, yt, "binary"), 1)
    import builtins

    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                        if name == "onnxruntime" else real(name, *a, **k))
    with pytest.raises(UserError, match=r"pip install 'postreport\[onnx\]'"):
        onnx_model.load(path, model_cfg(), dataset(Xt, yt, "binary"), 1)


@pytest.mark.slow
def test_an_onnx_model_from_the_command_line_reports_sklearns_numbers(cancer, tmp_path):
    """model=file model.path=model.onnx end to end: the metrics equal scikit-learn's on the original model's
    predictions; importance (permutation) works from predictions alone; labels the model does not know are exit 2."""
    from conftest import run_report
    from sklearn import metrics as skm
    from sklearn.linear_model import LogisticRegression

    X, y, Xt, yt = cancer
    original = LogisticRegression(max_iter=5000).fit(X, y)
    path = convert(original, X, tmp_path / "lr.onnx")
    Xt.assign(target=yt).to_csv(tmp_path / "test.csv", index=False)
    args = ["model=file", f"model.path={path}", "data=file", f"data.test_path={tmp_path / 'test.csv'}",
            "data.target=target", "report.analyses=[metrics,feature_importance]"]
    result, _ = run_report(tmp_path, args)
    m = result.metrics["metrics"]
    predicted = original.predict(Xt)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(yt, predicted), abs=1 / len(yt))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(yt, original.predict_proba(Xt)[:, 1]), abs=1e-4)
    assert [s["status"] for s in result.metrics["sections"]] == ["ok", "ok"]
    Xt.assign(target=np.where(yt == 1, "yes", "no")).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(UserError, match="unknown to the model"):
        run_report(tmp_path / "bad", args[:3] + [f"data.test_path={tmp_path / 'other.csv'}"] + args[4:])


def logit_graph(path, weights, bias, classes):
    """MatMul + Add with no softmax: an output of logits, the classes in the metadata."""
    import onnx
    from onnx import TensorProto, helper

    k = weights.shape[1]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["xw"]), helper.make_node("Add", ["xw", "B"], ["logits"])],
        "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, weights.shape[0]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, k])],
        [helper.make_tensor("W", TensorProto.FLOAT, list(weights.shape), weights.ravel()),
         helper.make_tensor("B", TensorProto.FLOAT, [k], bias)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.helper.set_model_props(model, {"classes": ",".join(classes)})
    onnx.save(model, path)
    return path


def test_logits_are_not_read_as_probabilities(tmp_path):
    """An output of logits (no softmax): the scores only rank rows (no log loss, Brier, calibration), with a note;
    model.scores=logits gives scipy's softmax; model.scores=probabilities is an error naming the range; a single
    logit column without a label output is an error (its labels would come from 0.5 on logits)."""
    from scipy.special import expit, softmax

    from postreport.stats.metrics import point_metrics
    from postreport.stats.encoding import encode
    from postreport.run.predictions import predict

    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 3)).astype(np.float32) * 3
    bias = np.array([0.5, -0.2, 0.1], dtype=np.float32)
    path = logit_graph(tmp_path / "logits.onnx", weights, bias, ["a", "b", "c"])
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["x0", "x1", "x2"])
    logits = X.to_numpy(np.float32) @ weights + bias
    y = pd.Series(np.array(["a", "b", "c"])[np.argmax(logits + rng.normal(size=logits.shape) * 2, axis=1)])
    data = SimpleNamespace(**vars(dataset(X, y, "multiclass")), y_test=y, logged=None, positive_label=None)
    model, _ = onnx_model.load(path, model_cfg(), data, 1)
    candidate = SimpleNamespace(estimator=model, notes=[])
    pred = predict(candidate, data)
    assert not pred.probabilities and "not probabilities" in candidate.notes[0]
    result = point_metrics(data, pred, encode(data, pred))
    values = result.values
    assert values["log_loss"] is None and values["brier"] is None and values["roc_auc"] is not None, result.notes
    model, _ = onnx_model.load(path, SimpleNamespace(**vars(model_cfg()), scores="logits"), data, 1)
    candidate = SimpleNamespace(estimator=model, notes=[])
    pred = predict(candidate, data)
    assert pred.probabilities and not candidate.notes
    np.testing.assert_allclose(pred.proba, softmax(logits.astype(float), axis=1), atol=1e-6)
    model, _ = onnx_model.load(path, SimpleNamespace(**vars(model_cfg()), scores="probabilities"), data, 1)
    with pytest.raises(UserError, match="model.scores=probabilities, but .* values from"):
        predict(SimpleNamespace(estimator=model, notes=[]), data)
    with pytest.raises(UserError, match="model.scores='odds' is not valid"):
        onnx_model.load(path, SimpleNamespace(**vars(model_cfg()), scores="odds"), data, 1)
    one = logit_graph(tmp_path / "one.onnx", weights[:, :1], bias[:1], ["no", "yes"])
    yb = pd.Series(np.where(logits[:, 0] > 0, "yes", "no"))
    binary = SimpleNamespace(**vars(dataset(X, yb, "binary")), y_test=yb, logged=None, positive_label="yes")
    model, _ = onnx_model.load(one, model_cfg(), binary, 1)
    with pytest.raises(UserError, match="not probabilities in \\[0, 1\\]; if they are logits, set model.scores"):
        model.predict(X)
    model, _ = onnx_model.load(one, SimpleNamespace(**vars(model_cfg()), scores="logits"), binary, 1)
    assert list(model.predict(X)) == list(yb)  # the sigmoid's 0.5 is the logit's 0
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expit(logits[:, 0].astype(float)), atol=1e-6)
