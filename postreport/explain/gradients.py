"""Input gradients of a model's class score (a scaler and a scikit-learn MLP, or a linear model): the gradient
saliency of image models."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
from postreport.explain.anatomy import Anatomy


def input_gradient(an: Anatomy, images: np.ndarray, target: np.ndarray) -> Optional[np.ndarray]:
    """The exact gradient of the target class's probability with respect to the input pixels, for sklearn's MLP
    and linear classifiers (behind an optional StandardScaler); None for other models."""
    scale = np.ones(images.shape[1])
    Z = images.astype(float)
    if an.preprocess is not None:
        scaler = _only_scaler(an.preprocess)
        if scaler is None:
            return None
        Z = np.asarray(an.preprocess.transform(pd.DataFrame(images, columns=getattr(an.preprocess,
                                                                                      "feature_names_in_", None))))
        scale = 1 / getattr(scaler, "scale_", np.ones(images.shape[1]))
    if an.kind == "linear" and hasattr(an.final, "predict_proba"):
        coef = np.atleast_2d(an.final.coef_)
        proba = an.final.predict_proba(Z)
        if coef.shape[0] == 1:  # binary: d p1/dz = p1 (1 - p1) w; d p0 = -that
            g = (proba[:, 1] * proba[:, 0])[:, None] * coef[0][None, :]
            grad = np.where(target[:, None] == 1, g, -g)
        else:  # softmax: d p_t/dz = p_t (w_t - sum_k p_k w_k)
            pt = proba[np.arange(len(Z)), target]
            grad = pt[:, None] * (coef[target] - proba @ coef)
        return grad * scale
    if an.kind == "mlp" and hasattr(an.final, "coefs_"):
        return _mlp_gradient(an.final, Z, target) * scale
    return None


def _only_scaler(preprocess):
    """The StandardScaler of a preprocessing step that only imputes and scales numbers (images), else None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = preprocess.steps if isinstance(preprocess, Pipeline) else [("p", preprocess)]
    for _, step in steps:
        if isinstance(step, StandardScaler):
            return step
        if isinstance(step, ColumnTransformer):
            for name, transformer, cols in step.transformers_:
                if len(cols) == 0 or name == "remainder":
                    continue
                inner = transformer.steps if isinstance(transformer, Pipeline) else [("t", transformer)]
                for _, t in inner:
                    if isinstance(t, StandardScaler):
                        return t
    return None


def _mlp_gradient(mlp, Z: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Backpropagation through sklearn's MLPClassifier (ReLU, tanh, logistic or identity hidden layers)."""
    acts = [Z]
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        acts.append(_activate(mlp.activation, acts[-1] @ W + b))
    logits = acts[-1] @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    n = len(Z)
    if logits.shape[1] == 1:  # binary: sigmoid output
        p = 1 / (1 + np.exp(-logits[:, 0]))
        sign = np.where(target == 1, 1.0, -1.0)
        delta = (sign * p * (1 - p))[:, None]
    else:
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        onehot = np.eye(p.shape[1])[target]
        delta = p[np.arange(n), target][:, None] * (onehot - p)
    for layer in range(len(mlp.coefs_) - 1, 0, -1):
        delta = (delta @ mlp.coefs_[layer].T) * _derivative(mlp.activation, acts[layer])
    return delta @ mlp.coefs_[0].T


def _activate(name, x):
    return {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "logistic": lambda v: 1 / (1 + np.exp(-v)),
            "identity": lambda v: v}[name](x)


def _derivative(name, a):
    """Derivative of the activation, from its output a."""
    return {"relu": lambda v: (v > 0).astype(float), "tanh": lambda v: 1 - v ** 2, "logistic": lambda v: v * (1 - v),
            "identity": lambda v: np.ones_like(v)}[name](a)
