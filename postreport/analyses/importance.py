"""Feature importance, side by side: the model's own (native) importance, permutation importance with its
spread, SHAP-style attributions; how far the methods agree; partial dependence and ICE for the top features.
Every method is reported on the original columns (one-hot dummies are summed back)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from postreport.stats.bootstrap import intervals_on
from postreport.stats.intervals import repeat_interval
from postreport.errors import at_least
from postreport.explain.attributions import (MIN_ROWS, STABLE_SHARE, AttributionSettings, attribution_key, explained,
                                             native_importance, stability)
from postreport.explain.permutation import agreement, permutation
from postreport.explain.anatomy import anatomy, scaled_values
from postreport.explain.partial_dependence import partial_dependence_curves
from postreport.report.figures import Bars, Beeswarm, Lines, Panels, Series
from postreport.planning.plan import FLOOR_ROWS, THOROUGH, Step
from postreport.report.model import Estimate, Figure, Note, Table
from postreport.stats.sampling import sample_rows
from postreport.analyses.base import TABULAR, Analysis, Need, model


@dataclass
class ImportanceSettings(AttributionSettings):
    repeats: int = 5  # permutation repeats
    scoring: Optional[str] = None  # sklearn scorer name; null: roc_auc (binary), accuracy, r2
    top: int = 15  # features shown
    pdp_features: int = 4  # partial dependence plots for the top features
    pdp_rows: int = 500  # rows averaged for partial dependence (a seeded sample of the sampled rows)
    grid: int = 20
    ice_lines: int = 40

    def __post_init__(self):
        super().__post_init__()
        for key, minimum in (("repeats", 1), ("top", 1), ("pdp_features", 0), ("pdp_rows", 1), ("grid", 2),
                             ("ice_lines", 0)):
            at_least(f"analyses.feature_importance.{key}", getattr(self, key), minimum)


@dataclass
class ImportanceResult:
    columns: list
    native: Optional[dict]  # {"kind": ..., "values": {name: (F,) array}}
    permutation: dict  # mean, std, drops (columns x repeats), scoring, repeats
    attributions: object  # explain.Attributions
    agreement: dict  # pair -> Spearman rho
    disagreement: Optional[str]
    pdp: list  # [{feature, grid, average (G,) or (G,K), ice (L, G) or None, categorical, output}]
    sample_size: int
    n_test: int
    notes: list = field(default_factory=list)
    colour: Optional[np.ndarray] = None  # (n, F) feature values of the explained rows scaled to 0..1 (NaN: none)
    top: int = 15  # features shown
    pdp_rows: int = 0  # rows averaged for partial dependence
    stability: Optional[dict] = None  # see explain.stability
    permutation_ci: Optional[list] = None  # per column: the mean drop's interval over the repeats (Student's t)
    ci_level: Optional[float] = None

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
        if self.stability:
            stable = self.stability["stable_top"]
            unstable = [c for c in self.ranking()[:3] if c not in stable]
            text += (f" Stable across resamples of the explained rows: {', '.join(repr(c) for c in stable) or 'none'}"
                     + (f"; not stable: {', '.join(repr(c) for c in unstable)}" if unstable else "") + ".")
        if self.disagreement:
            text += " " + self.disagreement
        return text

    def to_json(self) -> dict:
        out = {
            "columns": self.columns,
            "permutation": {"mean": self.permutation["mean"].tolist(), "std": self.permutation["std"].tolist(),
                            "scoring": self.permutation["scoring"], "repeats": self.permutation["repeats"],
                            "ci": self.permutation_ci, "ci_level": self.ci_level},
            "attribution": {"method": self.attributions.method, "output": self.attributions.output,
                            "exact": self.attributions.exact, "mean_abs": self.mean_abs_attribution().tolist(),
                            "rows": len(self.attributions.rows)},
            "agreement_spearman": self.agreement,
            "stability": self.stability,
            "sample_size": self.sample_size,
            "partial_dependence": [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in p.items()
                                    if k != "ice"} for p in self.pdp],
        }
        if self.native:
            out["native"] = {"kind": self.native["kind"],
                             **{k: v.tolist() for k, v in self.native["values"].items()}}
        return out


class FeatureImportanceAnalysis(Analysis):
    name = "feature_importance"
    title = "Feature importance"
    lead = "Which inputs the predictions depend on, measured three ways, and how the prediction moves with them."
    Settings = ImportanceSettings

    thorough = {"repeats": 2, "max_seconds": THOROUGH}  # as every planned budget
    needs = (TABULAR, model("importance"),
             Need(lambda ctx: ctx.data.X_test.shape[1] > 0, "The data has no feature columns."))

    def plan(self, plan, settings) -> list:
        """Permutation importance, attributions and partial dependence on the rows Plan.rows_for sizes."""
        rows = plan.rows_for(settings)
        seconds = rows["seconds"] - (0.0 if plan.once(attribution_key(settings)) else rows["attribution_seconds"])
        sampled = min(plan.shape.n_test, settings.sample_size)
        sized = [f"{name} on {n:,} of {sampled:,}" for name, n in (
            ("permutation", rows["permutation"]), ("attributions", rows["attributions"])) if n < sampled]
        if rows["repeats"] < settings.repeats:
            sized.append(f"{rows['repeats']} of {settings.repeats} permutation repeats")
        return [Step("feature importance", "permutation importance, attributions and partial dependence",
                     seconds, rows=rows["permutation"], repeats=rows["repeats"],
                     why=("sized to analyses.feature_importance.max_seconds: " + ", ".join(sized)) if sized else "")]

    def compute(self, ctx, settings: ImportanceSettings) -> ImportanceResult:
        data, model = ctx.data, ctx.model.estimator
        columns = list(data.X_test.columns)
        rows = sample_rows(data.n_test, settings.sample_size, ctx.seed)
        planned = ctx.plan.rows_for(settings)
        notes = []
        if planned["repeats"] < settings.repeats:
            notes.append(f"Permutation importance used {planned['repeats']} of analyses.feature_importance.repeats="
                         f"{settings.repeats} repeats: with more, its predictions of even {MIN_ROWS} rows are "
                         "planned past a third of analyses.feature_importance.max_seconds (from the model's size).")
            settings = replace(settings, repeats=planned["repeats"])
        passes = len(columns) * settings.repeats + 1
        keep = planned["permutation"]
        if keep < len(rows):
            notes.append(f"Permutation importance used {keep:,} of the {len(rows):,} sampled test rows: its {passes} "
                         f"predictions of each row are planned to fit a third of analyses.feature_importance."
                         f"max_seconds={settings.max_seconds:g} that way (from the model's size and the data's shape).")
            rows_perm = rows[sample_rows(len(rows), keep, ctx.seed + 5)]
        else:
            rows_perm = rows
        perm = permutation(model, data, rows_perm, settings, ctx.seed)
        attr = explained(ctx, ctx.model, settings)
        result = ImportanceResult(columns=columns, native=native_importance(anatomy(model), columns), permutation=perm,
                                  attributions=attr, agreement={}, disagreement=None, pdp=[],
                                  sample_size=len(rows_perm), n_test=data.n_test, notes=notes)
        methods = {"attribution": result.mean_abs_attribution(), "permutation": perm["mean"]}
        if result.native:
            key = next(iter(result.native["values"]))
            methods["native"] = result.native["values"][key]
        result.agreement, result.disagreement = agreement(columns, methods)
        boot = ctx.cfg.bootstrap
        if intervals_on(boot) and settings.repeats > 1:  # of the shuffles on these rows (the rows held fixed)
            result.permutation_ci = [repeat_interval(d, boot.level) for d in perm["drops"]]
            result.ci_level = boot.level
        if intervals_on(boot):
            result.stability = stability(attr.values, columns, boot, ctx.bootstrap_seed)
        top = result.ranking()[: settings.pdp_features]
        pdp_rows = rows[sample_rows(len(rows), min(len(rows), planned["pdp"]), ctx.seed + 3)]
        if len(pdp_rows):
            result.pdp = partial_dependence_curves(model, data, pdp_rows, top, settings, ctx.seed, result.notes)
        elif top:
            result.notes.append(f"No partial dependence: its {len(top)} x {settings.grid} predictions of even "
                                f"{FLOOR_ROWS} rows are planned past a third of analyses.feature_importance."
                                "max_seconds (from the model's size: one tree per class and round).")
        result.pdp_rows = len(pdp_rows)
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
                       errors=[r.permutation_ci[i] for i in index[:shown]] if r.permutation_ci else None)]
        items.append(Figure(Panels(panels, height=min(6.0, 1.0 + 0.3 * shown)),
                            caption=f"Left: {r.attributions.method}, mean absolute contribution to "
                                    f"{r.attributions.output} over {len(r.attributions.rows)} test rows. Right: "
                                    f"drop in {r.permutation['scoring']} when the column is shuffled, "
                                    + (f"over {r.permutation['repeats']} repeats on {r.sample_size:,} of "
                                       f"{r.n_test:,} test rows"
                                       + (f" (whiskers: the mean drop's {r.ci_level:.0%} interval over the shuffles "
                                          "of these rows, Student's t)." if r.permutation_ci else ".")
                                       if r.permutation["repeats"] > 1 else
                                       f"one shuffle on {r.sample_size:,} of {r.n_test:,} test rows (one repeat: "
                                       "no spread to show).")))
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
        if r.stability:
            st = r.stability
            level = f"{st['level']:.0%}"
            items.append(Table(["Feature", f"Mean |attribution| [{level} CI]", f"Rank [{level} CI]",
                                "In the top 3", "In the top 5"],
                               [[f["feature"], Estimate(f["importance"], f["importance_ci"]),
                                 f"{f['rank']} [{f['rank_ci'][0]}, {f['rank_ci'][1]}]", f["top3_share"],
                                 f["top5_share"]] for f in st["features"]],
                               caption=f"Stability over {st['resamples']} bootstrap resamples of the {st['rows']} "
                                       "explained rows (the attributions re-averaged, not recomputed). The same top "
                                       f"three in {st['top3_same']:.0%} of resamples, the same top five in "
                                       f"{st['top5_same']:.0%}. A top-three feature is called stable when it is in the "
                                       f"top three in at least {STABLE_SHARE:.0%} of resamples. Refits with other "
                                       "seeds and background samples are not part of this.", percent_columns=[3, 4]))
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
                              f"for every row, over {r.pdp_rows:,} of the {r.n_test:,} test rows, a seeded sample) and "
                              "ICE lines (grey: single rows) for the top features.")
