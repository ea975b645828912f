"""scikit-learn's bundled datasets as frames (no download)."""
from __future__ import annotations

import numpy as np

from postreport.errors import UserError


BUILTIN = {
    "breast_cancer": "load_breast_cancer",
    "iris": "load_iris",
    "wine": "load_wine",
    "digits": "load_digits",
    "diabetes": "load_diabetes",
}


def load_builtin(name: str):
    if name not in BUILTIN:
        raise UserError(f"unknown built-in dataset {name!r}; valid: {', '.join(BUILTIN)} (or data=file)")
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, BUILTIN[name])(as_frame=True)
    frame = bunch.frame.copy()
    target = "target"
    if name != "diabetes" and name != "digits":
        names = np.asarray(bunch.target_names)
        frame[target] = names[frame[target].to_numpy()]
    return frame, target, f"scikit-learn {BUILTIN[name]}()"
