"""Feature importance, side by side: the model's own (native) importance, permutation importance with its
spread, SHAP-style attributions; how far the methods agree; partial dependence and ICE for the top features.
Every method is reported on the original columns (one-hot dummies are summed back)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..plotting import Bars, Beeswarm, Lines, Panels, Series
from ..predictions import model_classes
from ..report.model import Figure, Note, Table
from .base import Analysis


@dataclass
class ImportanceSettings:
    sample_size: int = 2000  # test rows (a seeded sample) for permutation importance and attributions
    repeats: int = 5  # permutation repeats
    scoring: Optional[str] = None  # sklearn scorer name; null: roc_auc (binary), accuracy, r2
    shap_rows: int = 100  # rows explained when attributions are estimated by sampling (models without exact ones)
    permutations: int = 8  # feature orders per row for the sampling estimate
    background: int = 50  # background rows for the sampling estimate and linear contributions
    top: int = 15  # features shown
    pdp_features: int = 4  # partial dependence plots for the top features
    grid: int = 20
    ice_lines: int = 40


@dataclass
class ImportanceResult:
    columns: list
    native: Optional[dict]  # {"kind": ..., "values": {name: (F,) array}}
    permutation: dict  # mean, std, scoring, repeats
    attributions: object  # explain.Attributions
    agreement: dict  # pair -> Spearman rho
    disagreement: Optional[str]
    pdp: list  # [{feature, grid, average (G,) or (G,K), ice (L, G) or None, categorical, output}]
    sample_size: int
    n_test: int
    notes: list = field(default_factory=list)
    colour: Optional[np.ndarray] = None  # (n, F) feature values of the explained rows scaled to 0..1 (NaN: none)
    top: int = 15  # features shown

    def ranking(self) -> list:
        """Columns ordered by mean |attribution| (or permutation importance)."""
        score = self.mean_abs_attribution()
        return [self.columns[i] for i in np.argsort(-score, kind="mergesort")]

    def mean_abs_attribution(self) -> np.ndarray:
        v = np.abs(self.attributions.values)
        return v.mean(axis=(0, 2)) if v.ndim == 3 else v.mean(axis=0)

    def headline(self) -> str:
        top = ", ".join(repr(c) for c in self.ranking()[:3])
        text = f"Most influential features ({self.attributions.method}): {top}."
        if self.disagreement:
            text += " " + self.disagreement
        return text

    def to_json(self) -> dict:
        out = {
            "columns": self.columns,
            "permutation": {"mean": self.permutation["mean"].tolist(), "std": self.permutation["std"].tolist(),
                            "scoring": self.permutation["scoring"], "repeats": self.permutation["repeats"]},
            "attribution": {"method": self.attributions.method, "output": self.attributions.output,
                            "exact": self.attributions.exact, "mean_abs": self.mean_abs_attribution().tolist(),
                            "rows": len(self.attributions.rows)},
            "agreement_spearman": self.agreement,
            "sample_size": self.sample_size,
            "partial_dependence": [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in p.items()
                                    if k != "ice"} for p in self.pdp],
        }
        if self.native:
            out["native"] = {"kind": self.native["kind"],
                             **{k: v.tolist() for k, v in self.native["values"].items()}}
        return out


def scaled_values(X: pd.DataFrame) -> np.ndarray:
    """Each numeric column ranked to 0..1 (for colouring dots by feature value); categoricals NaN."""
    out = np.full(X.shape, np.nan)
    for j, col in enumerate(X.columns):
        if pd.api.types.is_numeric_dtype(X[col]) and not isinstance(X[col].dtype, pd.CategoricalDtype):
            out[:, j] = X[col].rank(pct=True).to_numpy()
    return out


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def native_importance(an, columns: list) -> Optional[dict]:
    from ..explain import aggregate

    if an.kind == "lightgbm":
        sources = an.transformed_sources(columns) if an.preprocess is not None else columns
        gain = an.booster.feature_importance("gain")
        split = an.booster.feature_importance("split")
        return {"kind": "LightGBM gain and split counts",
                "values": {"gain": aggregate(gain, sources, columns), "split": aggregate(split, sources, columns)}}
    if an.kind == "tree":
        sources = an.transformed_sources(columns)
        return {"kind": "impurity decrease (mean over trees)",
                "values": {"impurity": aggregate(an.final.feature_importances_, sources, columns)}}
    if an.kind == "linear":
        sources = an.transformed_sources(columns)
        coef = np.abs(np.atleast_2d(an.final.coef_)).mean(axis=0)
        scaled = "on standardised inputs" if an.preprocess is not None else "on raw inputs"
        return {"kind": f"|coefficient| {scaled}", "values": {"abs_coef": aggregate(coef, sources, columns)}}
    return None


def attributions(model, an, data, rows: np.ndarray, settings: ImportanceSettings, seed: int):
    from .. import explain

    X = data.X_test.iloc[rows].reset_index(drop=True)
    columns = list(data.X_test.columns)
    source = data.X_train if data.X_train is not None else data.X_test
    background = source.iloc[sample_rows(len(source), settings.background, seed + 1)].reset_index(drop=True)
    output = explain.output_name(data.task, data.positive_label)
    if an.kind == "lightgbm":
        values, base = explain.tree_shap(an, X, data.task)
        if an.preprocess is not None:
            values = explain.aggregate(values, an.transformed_sources(columns), columns, axis=1)
        return explain.Attributions(values, np.asarray(base), rows, "exact TreeSHAP (LightGBM pred_contrib)",
                                    output, True)
    if an.kind == "linear" and hasattr(an.final, "intercept_"):
        values, base = explain.linear_contributions(an, X, background, data.task)
        values = explain.aggregate(values, an.transformed_sources(columns), columns, axis=1)
        output = ("the decision function (log-odds)" if data.task != "regression" else "the predicted value")
        return explain.Attributions(values, np.asarray(base), rows,
                                    "exact linear contributions, coef × (x − mean)", output, True)
    few = rows[: settings.shap_rows]
    X = X.iloc[: len(few)]
    progress = explain.Progress("attributions (sampling Shapley)", len(few))
    values, base = explain.sampling_shapley(explain.model_output(model, data.task), X, background,
                                            settings.permutations, seed, progress)
    progress.close()
    if data.task == "binary":
        positive = model_classes(model).index(data.positive_label)
        values, base = values[:, :, positive], base[positive]
        output = f"the predicted probability of {data.positive_label!r}"
    elif data.task == "multiclass":
        output = "each class's predicted probability"
    return explain.Attributions(values, np.asarray(base), few,
                                f"sampling Shapley values ({settings.permutations} feature orders per row, "
                                f"{settings.background} background rows)", output, False)


def permutation(model, data, rows, settings: ImportanceSettings, seed: int) -> dict:
    from sklearn.inspection import permutation_importance

    scoring = settings.scoring or {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}[data.task]
    if scoring == "roc_auc" and not hasattr(model, "predict_proba"):
        scoring = "accuracy"
    X = data.X_test.iloc[rows]
    y = data.y_test.iloc[rows]
    scorer = scoring
    if data.task == "binary" and scoring in BINARY_SCORERS:  # scored for the configured positive class
        scorer = binary_scorer(scoring, data.positive_label)
    result = permutation_importance(model, X, y, scoring=scorer, n_repeats=settings.repeats, random_state=seed,
                                    n_jobs=1)  # the model's own threads use the cores; no nesting
    return {"mean": result.importances_mean, "std": result.importances_std, "scoring": scoring,
            "repeats": settings.repeats}


BINARY_SCORERS = ("roc_auc", "average_precision", "f1", "precision", "recall")


def binary_scorer(name: str, positive):
    """A scorer(estimator, X, y) for the positive class, whatever its label."""
    import sklearn.metrics as skm

    def score(estimator, X, y):
        truth = (np.asarray(y) == positive).astype(int)
        if name in ("roc_auc", "average_precision"):
            p = np.asarray(estimator.predict_proba(X))[:, model_classes(estimator).index(positive)]
            fn = skm.roc_auc_score if name == "roc_auc" else skm.average_precision_score
            return fn(truth, p)
        pred = (np.asarray(estimator.predict(X)) == positive).astype(int)
        return {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[name](
            truth, pred, zero_division=0)

    return score


def agreement(columns, methods: dict) -> tuple:
    from scipy.stats import spearmanr

    names = list(methods)
    rho = {}
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = methods[names[i]], methods[names[j]]
            if np.std(a) > 0 and np.std(b) > 0:
                rho[f"{names[i]} vs {names[j]}"] = float(spearmanr(a, b).statistic)
    tops = {name: set(np.asarray(columns)[np.argsort(-v, kind="mergesort")[:3]]) for name, v in methods.items()}
    first = next(iter(tops.values()))
    message = None
    if any(t != first for t in tops.values()):
        parts = "; ".join(f"{name}: {', '.join(sorted(map(str, t)))}" for name, t in tops.items())
        message = f"The methods disagree on the top three features ({parts})."
    return rho, message


def partial_dependence_curves(model, data, rows, features: list, settings: ImportanceSettings, seed: int,
                              notes: list) -> list:
    """Partial dependence (average) and ICE lines, through sklearn's partial_dependence."""
    from sklearn.inspection import partial_dependence

    X = data.X_test.iloc[rows].reset_index(drop=True)
    ice_rows = sample_rows(len(X), settings.ice_lines, seed + 2)
    out = []
    for feature in features:
        categorical = isinstance(X[feature].dtype, pd.CategoricalDtype)
        kind = "average" if categorical or data.task == "multiclass" else "both"
        try:
            pd_result = partial_dependence(model, X, [feature], kind=kind, grid_resolution=settings.grid,
                                           categorical_features=[feature] if categorical else None,
                                           response_method="auto")
        except (ValueError, TypeError) as exc:
            notes.append(f"No partial dependence for {feature!r}: {exc}")
            continue
        grid = pd_result["grid_values"][0]
        average = pd_result["average"]  # (n_outputs, G)
        entry = {"feature": feature, "grid": [str(g) for g in grid] if categorical else np.asarray(grid, float),
                 "categorical": categorical, "average": average}
        if kind == "both":
            entry["ice"] = pd_result["individual"][0][ice_rows]
        out.append(entry)
    return out


class FeatureImportanceAnalysis(Analysis):
    name = "feature_importance"
    title = "Feature importance"
    lead = "Which inputs the predictions depend on, measured three ways, and how the prediction moves with them."
    Settings = ImportanceSettings

    def skip_reason(self, ctx) -> Optional[str]:
        if ctx.model.estimator is None:
            return "There is no model (logged predictions): importance needs a model to query."
        if ctx.data.X_test.shape[1] == 0:
            return "The data has no feature columns."
        return None

    def compute(self, ctx, settings: ImportanceSettings) -> ImportanceResult:
        from ..explain import anatomy

        data, model = ctx.data, ctx.model.estimator
        columns = list(data.X_test.columns)
        an = anatomy(model)
        rows = sample_rows(data.n_test, settings.sample_size, ctx.seed)
        perm = permutation(model, data, rows, settings, ctx.seed)
        attr = ctx.shared("attributions", lambda: attributions(model, an, data, rows, settings, ctx.seed))
        result = ImportanceResult(columns=columns, native=native_importance(an, columns), permutation=perm,
                                  attributions=attr, agreement={}, disagreement=None, pdp=[], sample_size=len(rows),
                                  n_test=data.n_test)
        methods = {"attribution": result.mean_abs_attribution(), "permutation": perm["mean"]}
        if result.native:
            key = next(iter(result.native["values"]))
            methods["native"] = result.native["values"][key]
        result.agreement, result.disagreement = agreement(columns, methods)
        top = result.ranking()[: settings.pdp_features]
        result.pdp = partial_dependence_curves(model, data, rows, top, settings, ctx.seed, result.notes)
        result.colour = scaled_values(data.X_test.iloc[attr.rows])
        result.top = settings.top
        return result

    def items(self, r: ImportanceResult) -> list:
        order = r.ranking()[: r.top]
        index = [r.columns.index(c) for c in order]
        shown = min(len(order), 15)
        items = []
        panels = [Bars([str(c) for c in order[:shown]], r.mean_abs_attribution()[index][:shown].tolist(),
                       "Mean |attribution|", "mean |contribution|"),
                  Bars([str(c) for c in order[:shown]], r.permutation["mean"][index][:shown].tolist(),
                       f"Permutation ({r.permutation['scoring']})", "score drop",
                       errors=[[m - s, m + s] for m, s in zip(r.permutation["mean"][index][:shown],
                                                               r.permutation["std"][index][:shown])])]
        items.append(Figure(Panels(panels, height=min(6.0, 1.0 + 0.3 * shown)),
                            caption=f"Left: {r.attributions.method}, mean absolute contribution to "
                                    f"{r.attributions.output} over {len(r.attributions.rows)} test rows. Right: "
                                    f"drop in {r.permutation['scoring']} when the column is shuffled, over "
                                    f"{r.permutation['repeats']} repeats on {r.sample_size} of {r.n_test} test rows "
                                    "(whiskers: ± one standard deviation)."))
        values = r.attributions.values
        signed = values if values.ndim == 2 else None
        if signed is not None:
            colour = None if r.colour is None else r.colour[:, index[:shown]]
            items.append(Figure(Beeswarm(signed[:, index[:shown]], [str(c) for c in order[:shown]],
                                         colour_values=colour, title="Attribution per row",
                                         xlabel=f"contribution to {r.attributions.output}"),
                                caption="Each dot is one test row's contribution of the feature (right: raises the "
                                        "output), coloured by the row's value of the feature (blue low, orange high, "
                                        "grey: categorical). Features in order of mean |attribution|."))
        rows = []
        for c in order:
            i = r.columns.index(c)
            row = [c, r.mean_abs_attribution()[i], r.permutation["mean"][i], r.permutation["std"][i]]
            if r.native:
                row += [v[i] for v in r.native["values"].values()]
            rows.append(row)
        columns = ["Feature", "Mean |attribution|", "Permutation", "± sd"]
        if r.native:
            columns += [f"Native: {k}" for k in r.native["values"]]
        caption = "The top features by each method"
        if r.native:
            caption += f"; native importance is {r.native['kind']}"
        items.append(Table(columns, rows, caption=caption + "."))
        if r.agreement:
            text = "Rank agreement (Spearman) between methods: " + ", ".join(
                f"{k} {v:.2f}" for k, v in r.agreement.items()) + "."
            items.append(Note(text + (" " + r.disagreement if r.disagreement else " They agree on the top three."),
                              "warning" if r.disagreement else "info"))
        if r.pdp:
            items.append(self._pdp_figure(r))
        items += [Note(n, "warning") for n in r.notes]
        return items

    @staticmethod
    def _pdp_figure(r: ImportanceResult) -> Figure:
        panels = []
        for p in r.pdp:
            average = np.asarray(p["average"])
            if p["categorical"]:
                x = list(range(len(p["grid"])))
            else:
                x = np.asarray(p["grid"], float)
            series = []
            if p.get("ice") is not None:
                for line in p["ice"][: 40]:
                    series.append(Series(x, line, "", color="#b8c0cc", thin=True))
            for k in range(average.shape[0]):
                label = "" if average.shape[0] == 1 else f"class {k}"
                series.append(Series(x, average[k], label, color="#000000" if average.shape[0] == 1 else None))
            panels.append(Lines(series, str(p["feature"]), str(p["feature"]), "prediction",
                                xticklabels=p["grid"] if p["categorical"] else None))
        return Figure(Panels(panels, height=2.6, columns=min(len(panels), 2)),
                      caption="Partial dependence (black: the average prediction as one feature is set to each value "
                              "for every row) and ICE lines (grey: single rows) for the top features.")
