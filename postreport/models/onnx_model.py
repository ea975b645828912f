"""Models from any framework as ONNX files, run by onnxruntime on the CPU (the optional extra `postreport[onnx]`).
An ONNX file holds a graph and weights, never code, so it loads without a trust flag (as skops and LightGBM text).

`OnnxModel` gives the scikit-learn prediction interface (predict, predict_proba, classes_) over one input:
- tabular: a 2-D input whose columns are the data's feature columns in `model.features` order (default: the data's
  feature columns in file order), checked against the input's width;
- images: a 4-D input (NCHW or NHWC, `data.layout`) fed the data's flattened pixels reshaped; a 2-D input (an MLP
  converted with skl2onnx) gets each image flattened.
Outputs: the predicted labels and/or the probabilities, found by their types (a tensor of labels; a float tensor of
one column per class, or skl2onnx's ZipMap: a sequence of {class: probability}) or named by `model.outputs`
({labels: NAME, probabilities: NAME}; regression: {values: NAME}). Classes come from `model.classes`, the ZipMap's
keys, or the model's metadata (`classes`, comma-separated); else from the label output against the probabilities'
argmax on the test rows; else it is an error asking for `model.classes`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from postreport.errors import UserError
from postreport.models.loaded import LoadedModel

BATCH = 4096  # rows per onnxruntime call (memory stays flat for large test sets)
ROLES = ("labels", "probabilities", "values")
AGREEMENT = 0.99  # the label output must equal the top probability's class on this share of rows (float ties)
SCORES = ("probabilities", "logits")  # model.scores: what the probability output holds (null: read off the values)


def session_for(path: Path, threads: int, graph: Optional[bytes] = None):
    """An onnxruntime inference session on the CPU with `threads` intra-op threads (exit 2 when onnxruntime is not
    installed, naming the extra); `graph`: the serialised model to run instead of the file (a randomised copy)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError(f"model.path={str(path)!r} is an ONNX model, which needs onnxruntime: pip install "
                        "'postreport[onnx]'") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path) if graph is None else graph, sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for a file that is not a valid model
        raise UserError(f"model.path={str(path)!r}: onnxruntime cannot load it: {str(exc).splitlines()[0]}") from None


class OnnxModel(LoadedModel):
    """An ONNX model with the scikit-learn prediction interface (see the module's doc)."""

    refit_message = "an ONNX model is evaluated, not refitted"

    def __init__(self, session, task: str, roles: dict, classes: Optional[list], features: list,
                 image_shape: Optional[tuple] = None, layout: str = "NCHW", path: str = "",
                 scores: Optional[str] = None):
        self.session, self.task, self.roles, self.path, self.scores = session, task, roles, path, scores
        self.input = session.get_inputs()[0]
        self.dtype = np.float64 if self.input.type == "tensor(double)" else np.float32
        self.classes_ = None if classes is None else np.asarray(classes, dtype=object if any(
            isinstance(c, str) for c in classes) else None)
        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.n_features_in_ = len(features)
        self.image_shape, self.layout = image_shape, layout
        self.classes_from = "model.classes"  # where the classes were read (for messages)

    def get_params(self, deep=False) -> dict:
        return {}

    def _feed(self, X) -> np.ndarray:
        values = np.asarray(X, dtype=self.dtype)
        if self.image_shape is not None and len(self.input.shape) == 4:
            h, w, c = self.image_shape
            values = values.reshape(len(values), h, w, c)
            if self.layout == "NCHW":
                values = values.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(values)

    def run(self, X) -> dict:
        """Every output for the rows, by name (ZipMaps as arrays in the classes' order), in batches."""
        names = [o.name for o in self.session.get_outputs()]
        values = self._feed(X)
        parts: dict = {n: [] for n in names}
        for start in range(0, max(len(values), 1), BATCH):
            out = self.session.run(names, {self.input.name: values[start: start + BATCH]})
            for n, v in zip(names, out):
                parts[n].append(zipmap_array(v, self.classes_) if isinstance(v, list) else np.asarray(v))
        return {n: np.concatenate(p) if p else np.empty(0) for n, p in parts.items()}

    def predict_proba(self, X) -> np.ndarray:
        if self.roles.get("probabilities") is None:
            raise AttributeError("this ONNX model gives no probabilities")
        return self._columns(self.run(X)[self.roles["probabilities"]])

    def _as_classes(self, raw: np.ndarray) -> np.ndarray:
        """The label output's values as the classes (the data's labels) they name: 3 is the folder '3', b"cat" is
        'cat'. A value that names none of the classes is an error naming both sets (every row would count as
        wrong)."""
        values, inverse = np.unique(np.asarray([_plain(v) for v in raw], dtype=object).astype(str)
                                    if raw.dtype.kind in "OSU" else raw, return_inverse=True)
        by_text = {str(c): c for c in self.classes_}
        named = [by_text.get(str(_plain(v))) for v in values]
        unknown = [_plain(v) for v, c in zip(values, named) if c is None]
        if unknown:
            raise UserError(f"{self.path!r}: its label output gives {sorted(unknown, key=str)[:10]}, which are not "
                            f"among the classes {list(self.classes_)[:20]} ({self.classes_from}); they must name the "
                            "same labels: set model.classes to the labels the model outputs, in the probability "
                            "columns' order")
        return np.array(named, dtype=self.classes_.dtype)[inverse.ravel()]

    def _columns(self, raw: np.ndarray) -> np.ndarray:
        """The probability output as one column per class: logits (model.scores=logits) through the sigmoid or
        softmax; a single column (the positive class's) with its complement. A single column of values outside
        [0, 1] read as probabilities is an error (its labels would come from a 0.5 threshold on them)."""
        p = raw.astype(float)
        single = p.ndim == 1 or p.shape[1] == 1
        if self.scores == "logits":
            from scipy.special import expit, softmax

            p = expit(p) if single else softmax(p, axis=1)
        elif single and self.roles.get("labels") is None and len(p) and not ((p >= 0) & (p <= 1)).all():
            raise UserError(f"{self.path!r}: its output {self.roles['probabilities']!r} holds values from "
                            f"{p.min():.4g} to {p.max():.4g}, not probabilities in [0, 1]; if they are logits, set "
                            "model.scores=logits (the sigmoid gives the probabilities), or name a label output with "
                            "model.outputs.labels")
        return np.column_stack([1 - p.ravel(), p.ravel()]) if single else p

    def predict(self, X) -> np.ndarray:
        out = self.run(X)
        if self.task == "regression":
            return out[self.roles["values"]].astype(float).ravel()
        if self.roles.get("labels") is not None:
            labels = self._as_classes(out[self.roles["labels"]].ravel())
            if self.roles.get("probabilities") is not None and len(labels):
                top = self.classes_[np.argmax(self._columns(out[self.roles["probabilities"]]), axis=1)]
                agree = float(np.mean(top == labels))
                if agree < AGREEMENT:
                    raise UserError(f"{self.path!r}: its label output and the class of its top probability agree on "
                                    f"{agree:.1%} of the test rows (classes in column order: "
                                    f"{list(self.classes_)[:20]}); the classes do not name the probability columns "
                                    "in their order: set model.classes to the labels in the columns' order")
            return labels
        return self.classes_[np.argmax(self._columns(out[self.roles["probabilities"]]), axis=1)]


def zipmap_array(rows: list, classes) -> np.ndarray:
    """skl2onnx's ZipMap output (a list of {class: probability}) as an (n, k) array in the classes' order."""
    keys = list(rows[0].keys()) if rows else []
    if classes is not None:  # the keys as the classes name them (a class may be read as text from the config)
        by_text = {str(k): k for k in keys}
        keys = [k if k in rows[0] else by_text.get(str(k), k) for k in classes]
    return np.array([[r[k] for k in keys] for r in rows], dtype=float)


def _plain(value):
    return value.decode() if isinstance(value, bytes) else value.item() if hasattr(value, "item") else value


def output_roles(session, task: str, given: dict, path: str) -> dict:
    """Which output holds what: `model.outputs` where given (each checked to be an output), else by type: labels an
    integer or text tensor, probabilities a float tensor or a ZipMap sequence, a regression's values a float tensor."""
    outputs = {o.name: o for o in session.get_outputs()}
    unknown = [k for k in given if k not in ROLES]
    if unknown:
        raise UserError(f"model.outputs.{unknown[0]} is not a role; valid: {', '.join(ROLES)}")
    for role, name in given.items():
        if name not in outputs:
            raise UserError(f"model.outputs.{role}={name!r} is not an output of {path!r}; its outputs: "
                            f"{list(outputs)}")
    roles = dict(given)
    floats = [n for n, o in outputs.items() if o.type in ("tensor(float)", "tensor(double)")]
    zipmaps = [n for n, o in outputs.items() if o.type.startswith("seq(map(")]
    labels = [n for n, o in outputs.items() if o.type in ("tensor(int64)", "tensor(int32)", "tensor(string)")]
    if task == "regression":
        roles.setdefault("values", floats[0] if floats else None)
        if roles["values"] is None:
            raise UserError(f"{path!r} has no float output to read as the predicted values; its outputs: "
                            f"{[f'{n}: {o.type}' for n, o in outputs.items()]}; name it with model.outputs.values")
        return roles
    roles.setdefault("probabilities", (zipmaps or floats or [None])[0])
    roles.setdefault("labels", labels[0] if labels else None)
    if roles["probabilities"] is None and roles["labels"] is None:
        raise UserError(f"{path!r} has no output of labels or probabilities; its outputs: "
                        f"{[f'{n}: {o.type}' for n, o in outputs.items()]}; name them with model.outputs")
    return roles


def load(path: Path, cfg, data, threads: int) -> tuple:
    """(OnnxModel, notes): the file loaded, its input checked against the data, its outputs and classes decided."""
    session = session_for(path, threads)
    inputs = session.get_inputs()
    notes: list = []
    if len(inputs) != 1:
        raise UserError(f"model.path={str(path)!r} has {len(inputs)} inputs ({[i.name for i in inputs]}); postreport "
                        "feeds one: a 2-D table of features or a 4-D batch of images (export the model with one input)")
    shape = inputs[0].shape
    image_shape = None if data.image_shape is None else (*data.image_shape, getattr(data, "channels", 1))
    features = list(cfg.features) if cfg.features else list(data.X_test.columns)
    unknown = [c for c in features if c not in data.X_test.columns]
    if unknown:
        raise UserError(f"model.features names columns the data lacks: {unknown}; the data has: {data.features[:30]}")
    if len(shape) == 4:
        if image_shape is None:
            raise UserError(f"model.path={str(path)!r} takes images (input {inputs[0].name} of shape {shape}), but the "
                            "data is a table; use data=images")
        expected = _image_input(shape, image_shape, data.layout, path)
    elif len(shape) == 2:
        width = shape[1]
        if isinstance(width, int) and width != len(features):
            raise UserError(f"model.path={str(path)!r} takes {width} columns, the data gives {len(features)}"
                            + ("" if cfg.features else " (set model.features to the columns in the model's order)"))
        expected = None

        text = [c for c in features if not pd.api.types.is_numeric_dtype(data.X_test[c])]
        if text:
            raise UserError(f"column {text[0]!r} is not numeric; an ONNX model with one numeric input takes numbers "
                            "only (encode the column as the model was trained, or drop it with data.drop)")
    else:
        raise UserError(f"model.path={str(path)!r}: its input {inputs[0].name} has shape {shape}; postreport feeds a "
                        "2-D table or 4-D images")
    if features != list(data.X_test.columns):
        extra = [c for c in data.X_test.columns if c not in features]
        data.X_test = data.X_test[features]
        if data.X_train is not None:
            data.X_train = data.X_train[features]
        if extra:
            notes.append(f"Columns the model does not use were left out: {extra}.")
    roles = output_roles(session, data.task, dict(cfg.outputs or {}), str(path))
    scores = getattr(cfg, "scores", None)
    if scores is not None and scores not in SCORES:
        raise UserError(f"model.scores={scores!r} is not valid; valid: {', '.join(SCORES)} (or null: read them)")
    model = OnnxModel(session, data.task, roles, None, features, image_shape if expected else None,
                      getattr(data, "layout", "NCHW"), str(path), scores)
    if data.task != "regression":
        model.classes_ = np.asarray(_classes(model, session, cfg, data, path, notes), dtype=object)
        if all(isinstance(c, (int, np.integer)) for c in model.classes_):
            model.classes_ = model.classes_.astype(np.int64)
    notes.append(f"Outputs read: {', '.join(f'{r} = {n!r}' for r, n in roles.items() if n)} (model.outputs).")
    return model, notes


def _image_input(shape, image_shape, layout: str, path) -> tuple:
    """The image input's (H, W, C) must match the data's images in the configured layout."""
    h, w, c = image_shape
    got = tuple(shape[1:])
    want = (c, h, w) if layout == "NCHW" else (h, w, c)
    if any(isinstance(g, int) and g != e for g, e in zip(got, want)):
        raise UserError(f"model.path={str(path)!r} takes images of shape {list(got)} ({layout}), the data's are "
                        f"{list(want)}; set data.image_size, data.channels or data.layout to match the model")
    return want


def _classes(model, session, cfg, data, path, notes) -> list:
    """The classes in the order of the probability columns: model.classes, the ZipMap's keys, the metadata's
    `classes`, or read off the label output."""
    prob, label = model.roles.get("probabilities"), model.roles.get("labels")
    kinds = {o.name: o.type for o in session.get_outputs()}
    meta = session.get_modelmeta().custom_metadata_map or {}
    if cfg.classes:
        classes, source = list(cfg.classes), "model.classes"
    elif prob is not None and kinds[prob].startswith("seq(map("):
        first = session.run([prob], {model.input.name: model._feed(data.X_test.iloc[:1])})[0]
        classes, source = [_plain(k) for k in first[0].keys()], "the ZipMap output's keys"
    elif meta.get("classes"):
        classes, source = [c.strip() for c in meta["classes"].split(",")], "the model's metadata"
    elif label is not None and prob is not None:
        out = model.run(data.X_test)
        classes, source = _classes_from_labels(out[label], out[prob], path), "its label output against the " \
                                                                             "probabilities"
    elif label is not None:
        classes = sorted({_plain(v) for v in model.run(data.X_test)[label].ravel()}, key=str)
        source = "its label output"
    else:
        raise UserError(f"cannot tell which class each probability column of {str(path)!r} is: it has no label "
                        "output, no ZipMap and no 'classes' metadata; set model.classes to the labels in the "
                        f"columns' order (the data's labels: {data.labels[:20]})")
    classes = [_as_label(c, data.labels) for c in classes]
    model.classes_from = source
    notes.append(f"Classes {classes[:20]} from {source}.")
    return classes


def _classes_from_labels(labels: np.ndarray, proba: np.ndarray, path) -> list:
    """Each probability column's class, read off the rows where the label output and the argmax agree."""
    p = np.column_stack([1 - proba.ravel(), proba.ravel()]) if proba.ndim == 1 or proba.shape[1] == 1 else proba
    top = np.argmax(p, axis=1)
    classes: list = [None] * p.shape[1]
    for k in range(p.shape[1]):
        seen = {_plain(v) for v in labels.ravel()[top == k]}
        if len(seen) > 1:
            raise UserError(f"{str(path)!r}: the label output disagrees with the probabilities' argmax (column {k} "
                            f"goes with labels {sorted(seen, key=str)[:5]}); set model.classes")
        classes[k] = seen.pop() if seen else None
    if None in classes:
        missing = [k for k, c in enumerate(classes) if c is None]
        raise UserError(f"{str(path)!r}: probability columns {missing} are never the top class on the test rows, so "
                        "their classes are unknown; set model.classes to the labels in the columns' order")
    return classes


def _as_label(value, labels: list):
    """A class read from the model (text in metadata, numbers in tensors) as the data's label it names."""
    for label in labels:
        if value == label or str(value) == str(label):
            return label
    return value
