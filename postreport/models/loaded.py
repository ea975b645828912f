"""What a model loaded from a file (LightGBM text, ONNX) shares with scikit-learn's estimators so that its inspection
tools (permutation importance) accept it: fitted, of a known kind, never refitted here."""
from __future__ import annotations


class LoadedModel:
    """Mixin: the subclass sets `task` (binary | multiclass | regression) and `refit_message`."""

    task: str
    refit_message = "a model loaded from a file is evaluated, not refitted"

    def fit(self, X, y=None):
        """Never called: a model loaded from a file is evaluated, not refitted. (Its presence lets scikit-learn's
        inspection tools, such as permutation importance, accept the model.)"""
        raise NotImplementedError(self.refit_message)

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):
        """What scikit-learn's inspection tools ask of an estimator: a classifier or a regressor, fitted."""
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        classifier = self.task != "regression"
        return Tags(estimator_type="classifier" if classifier else "regressor", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags() if classifier else None,
                    regressor_tags=None if classifier else RegressorTags())
