"""Column names LightGBM accepts, for models that take the DataFrame as it is (preprocessing: native)."""
from __future__ import annotations

import re

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

LIGHTGBM_REFUSES = re.compile(r'[",:\[\]{}]')  # JSON characters LightGBM refuses in a feature name


class SafeNames(TransformerMixin, BaseEstimator):
    """Passes a DataFrame on with those characters replaced by '_' (names made unique). The data, and so the
    report, keep the original names."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        names, seen = [], set()
        for column in self.feature_names_in_:
            name = LIGHTGBM_REFUSES.sub("_", column)
            while name in seen:
                name += "_"
            seen.add(name)
            names.append(name)
        self.names_ = names
        self.n_features_in_ = len(names)
        return self

    def transform(self, X):
        if list(X.columns) == self.names_:
            return X
        out = X.copy(deep=False)
        out.columns = self.names_
        return out

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.names_, dtype=object)
