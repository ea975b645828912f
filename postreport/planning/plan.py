"""The run's plan: every expensive choice, decided before any model is fitted, from the config and the data's shape.

Rows sampled per step, trials, folds, whether stacking is built, which out-of-fold fits run: all come from rows x
columns x classes and the model's settings through fixed cost formulas (postreport.planning.costs), never from a clock, so
the same config and data give the same plan, sections and numbers on a busy machine or a quiet one. The budgets a
step is sized to (tuning.timeout, ensemble.stacking.max_seconds, budget.out_of_fold_seconds,
analyses.feature_importance.max_seconds) are *planned* seconds on the reference machine. `budget.profile` scales
them (apply_profile); `budget.max_seconds` is the one wall-clock limit, a safety net that cuts (runner).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional

from omegaconf import OmegaConf

from postreport.stats.bootstrap import ranks_every_class
from postreport.planning.costs import ModelCost, model_cost
from postreport.models.ensembles import member_config
from postreport.errors import UserError
from postreport.explain.attributions import MIN_ROWS
from postreport.models.out_of_fold import FOLDS as OOF_FOLDS
from postreport.planning.threads import fit_threads

PROFILES = ("quick", "default", "thorough")
QUICK_ANALYSES = ("metrics", "per_class", "confusion_matrix", "curves", "calibration", "thresholds", "residuals",
                  "slices")
THOROUGH = 4  # thorough: trials and every planned budget x4, permutation repeats x2, 2,000 bootstrap resamples
OOF_MAX_ROWS = 20000  # at most this many training rows (a seeded sample) for them
MIN_OOF_ROWS = 200  # fewer rows than this: the sections fall back to their test-half methods
FLOOR_ROWS = 50  # importance passes go below explain.MIN_ROWS only when MIN_ROWS do not fit, and never below this
OOF_USERS = ("calibration", "thresholds", "conformal")
# the rest of a run, in reference seconds (measured on the default report and bench/bench_plan.py's cases)
START_SECONDS = 1.5  # Python, imports, config
LOAD_SECONDS_PER_CELL = 2e-7
RENDER_SECONDS = 3.0  # figures, HTML and the PDF of a report with every section
RENDER_SECONDS_PER_CLASS = 0.005  # and per class: the HTML's rows and thin per-class curves (the PDF prints at most
# report.model.PRINT_ROWS rows of a per-class table and draws as many classes: 40 classes +0.4 s, 500 +1.2 s)
SECTION_SECONDS = 0.05  # each section's own fixed cost
BOOTSTRAP_SECONDS_PER_ROW = 1.5e-8  # per resample, test row and ranking (one per class for probabilities)
SEGMENT_SECONDS_PER_ROW = 4e-7  # weak-segment search: per test row and segment searched
RANKING_SECONDS_PER_CELL = 1.1e-6  # multiclass: one-vs-rest curves and areas, per class and test row (500 x 20k: 11 s)


def explicit(overrides, key: str) -> bool:
    """Did the command line (or the API's overrides) set this key itself?"""
    for item in overrides or ():
        name = str(item).split("=", 1)[0].lstrip("+~")
        if name == key:
            return True
    return False


def apply_profile(cfg, overrides=()) -> str:
    """Scale the config by budget.profile, in place, before anything reads it. Settings the overrides name win."""
    profile = cfg.budget.profile
    if profile not in PROFILES:
        raise UserError(f"budget.profile={profile!r} is not valid; valid: {', '.join(PROFILES)}")
    if cfg.budget.max_seconds is not None and cfg.budget.max_seconds <= 0:
        raise UserError(f"budget.max_seconds={cfg.budget.max_seconds:g} must be positive (or null: no limit)")
    if cfg.budget.out_of_fold_seconds is not None and cfg.budget.out_of_fold_seconds <= 0:
        raise UserError(f"budget.out_of_fold_seconds={cfg.budget.out_of_fold_seconds:g} must be positive (or null: "
                        "no limit)")

    def put(key: str, value) -> None:
        if not explicit(overrides, key):
            OmegaConf.update(cfg, key, value, merge=False)

    if profile == "quick":
        put("report.analyses", [a for a in cfg.report.analyses if a in QUICK_ANALYSES])
        put("tuning.enabled", False)
        put("ensemble.enabled", False)
    elif profile == "thorough":
        put("tuning.n_trials", cfg.tuning.n_trials * THOROUGH)
        for key in ("tuning.timeout", "ensemble.stacking.max_seconds", "budget.out_of_fold_seconds"):
            value = OmegaConf.select(cfg, key)
            if value is not None:
                put(key, value * THOROUGH)
        importance = (cfg.get("analyses") or {}).get("feature_importance")
        if importance is not None:
            put("analyses.feature_importance.repeats", importance.repeats * 2)
            if importance.max_seconds is not None:
                put("analyses.feature_importance.max_seconds", importance.max_seconds * THOROUGH)
        put("bootstrap.resamples", max(cfg.bootstrap.resamples, 2000))
    return profile


@dataclass(frozen=True)
class Shape:
    """What the plan is decided from, besides the config."""

    task: str
    n_train: int
    n_test: int
    n_features: int
    n_classes: int  # 0 for regression
    trainable: bool  # a model config fitted here on training rows (not a model file, not logged predictions)
    smallest_class: int = 0  # training rows of the rarest class (classification)
    image_pixels: int = 0  # image data: H x W (0: a table)
    model_ops: int = 0  # image data: multiply-adds of one forward pass (an ONNX file's weights; else a dense net's)

    @staticmethod
    def of(data, cfg) -> "Shape":
        trainable = data.X_train is not None and data.logged is None and not cfg.model.path
        smallest = 0
        if data.X_train is not None and data.task != "regression" and data.n_train:
            smallest = int(data.y_train.value_counts().min())
        pixels = 0 if not data.image_shape else int(data.image_shape[0] * data.image_shape[1])
        ops = 0
        if pixels:
            from postreport.explain.image_saliency import file_ops

            ops = file_ops(cfg.model.path, pixels) if str(cfg.model.path or "").endswith(".onnx") else \
                len(data.features) * DENSE_HIDDEN
        return Shape(data.task, int(data.n_train or 0), int(data.n_test), len(data.features),
                     0 if data.task == "regression" else len(data.labels), trainable, smallest, pixels, ops)


@dataclass
class Step:
    """One planned step: what it does, on how much, and its estimated seconds on the reference machine."""

    name: str
    what: str
    seconds: float
    rows: Optional[int] = None
    folds: Optional[int] = None
    trials: Optional[int] = None
    repeats: Optional[int] = None
    runs: bool = True
    why: str = ""  # why it does not run, or how it was sized

    def to_json(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class Plan:
    profile: str
    shape: Shape
    threads: int  # threads of a model fit on all the training rows
    steps: list = field(default_factory=list)
    tuning_trials: int = 0  # 0: no search
    stacking: bool = False
    stacking_rows: Optional[int] = None  # training rows stacking's out-of-fold fits use
    oof_rows: Optional[int] = None  # rows of the configured model's out-of-fold fits (None: none)
    cost: Optional[ModelCost] = None  # the configured model's
    saliency_masks: Optional[int] = None  # image data: RISE's masks (analyses.saliency.masks, or planned)
    deletion_rows: Optional[int] = None  # tabular saliency: the rows of its deletion check (planned)

    def rows_for(self, settings) -> dict:
        """Rows for permutation importance, attributions and partial dependence (settings: the section's
        ImportanceSettings or AttributionSettings): the sampled test rows, fewer when a pass is planned at more than
        a third of settings.max_seconds, down to MIN_ROWS; where even MIN_ROWS do not fit (a model with one tree per
        class and hundreds of classes), permutation repeats go down to one, then every pass down to FLOOR_ROWS.
        With the repeats and the planned seconds of all three."""
        F, K, cost = max(self.shape.n_features, 1), self.shape.n_classes, self.cost
        third = None if settings.max_seconds is None else settings.max_seconds / 3
        sampled = min(self.shape.n_test, settings.sample_size)

        def sized(cost_of, wanted: int) -> int:
            least = min(MIN_ROWS, wanted)
            if third is not None and cost_of(least) > third:
                least = min(FLOOR_ROWS, wanted)
            return affordable(cost_of, wanted, third, least)

        repeats = getattr(settings, "repeats", 0)
        while repeats > 1 and third is not None and (F * repeats + 1) * cost.predict_seconds(MIN_ROWS, F, K) > third:
            repeats -= 1
        passes = F * repeats + 1
        permutation = sized(lambda r: passes * cost.predict_seconds(r, F, K), sampled)
        explain = sampled if cost.kind in ("gbdt", "linear") else min(sampled, settings.shap_rows)
        attribution = lambda r: cost.attribution_seconds(r, F, K, settings.permutations,  # noqa: E731
                                                         settings.background)
        attributions = sized(attribution, explain)
        grid = max(getattr(settings, "pdp_features", 0), 0) * getattr(settings, "grid", 0)
        pdp_rows = min(sampled, getattr(settings, "pdp_rows", sampled))
        pdp = sized(lambda r: grid * cost.predict_seconds(r, F, K), pdp_rows)
        if third is not None and grid * cost.predict_seconds(pdp, F, K) > third:
            pdp = 0  # not even FLOOR_ROWS fit: no partial dependence (the section says so)
        seconds = (passes * cost.predict_seconds(permutation, F, K) + attribution(attributions)
                   + grid * cost.predict_seconds(pdp, F, K))
        return {"permutation": permutation, "repeats": repeats, "attributions": attributions, "pdp": pdp,
                "seconds": seconds}

    def step(self, name: str) -> Optional[Step]:
        return next((s for s in self.steps if s.name == name), None)

    def why(self, name: str) -> str:
        s = self.step(name)
        return s.why if s is not None else ""

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps if s.runs)

    def to_json(self) -> dict:
        return {"profile": self.profile, "threads": self.threads, "estimated_seconds": round(self.seconds, 1),
                "shape": asdict(self.shape), "steps": [s.to_json() for s in self.steps]}

    def lines(self) -> list:
        """The plan as text (dry_run): one line per step, in seconds on the reference machine. No estimate for this
        machine: a probe of its speed (a timed sort) ran 5-7x slower here than on the reference while LightGBM and
        rendering ran 1-2x, and it moved with the machine's load, so it misled more than it told."""
        s = self.shape
        head = (f"plan ({self.profile} profile): {s.task}, {s.n_train:,} training and {s.n_test:,} test rows, "
                f"{s.n_features} features" + (f", {s.n_classes} classes" if s.n_classes else "")
                + f"; model fits use {self.threads} thread(s)")
        out = [head, f"{'step':<24} {'rows':>9} {'folds':>5} {'trials':>6} {'repeats':>7} {'est. s':>8}  what"]
        for st in self.steps:
            cells = [f"{v:,}" if v is not None else "" for v in (st.rows, st.folds, st.trials, st.repeats)]
            est = f"{st.seconds:.1f}" if st.runs else "-"
            what = st.what + (f" ({st.why})" if st.why else "")
            out.append(f"{st.name:<24} {cells[0]:>9} {cells[1]:>5} {cells[2]:>6} {cells[3]:>7} {est:>8}  {what}")
        out.append(f"estimated total: {self.seconds:.0f} s on the reference machine (2 cores, quiet; a slower or "
                   "busier machine takes longer)")
        return out


def affordable(cost_of, wanted: int, budget: Optional[float], least: int) -> int:
    """The most rows (at most `wanted`) whose cost_of(rows) fits `budget`, but at least `least` (budget None: all)."""
    if budget is None or cost_of(wanted) <= budget:
        return wanted
    low, high = 1, wanted
    while low < high:  # cost grows with rows: bisect
        mid = (low + high + 1) // 2
        low, high = (mid, high) if cost_of(mid) <= budget else (low, mid - 1)
    return min(wanted, max(least, low))


def make_plan(cfg, shape: Shape, analyses: dict, config_dirs: tuple = ()) -> Plan:
    """The plan for this config and shape. analyses: the sections the report runs, in order, with their settings;
    config_dirs: folders of the user's model configs (ensemble members)."""
    mcfg = cfg.model
    target = mcfg.regressor if shape.task == "regression" else mcfg._target_
    params = dict(mcfg.params or {}) if not mcfg.path else {}
    cost = model_cost(target if not mcfg.path else None, params)
    F, K = shape.n_features, shape.n_classes
    threads = fit_threads(shape.n_train, F, cfg.n_jobs) if shape.trainable else 1
    plan = Plan(cfg.budget.profile, shape, threads, cost=cost)
    add = plan.steps.append

    def fit(rows: int, model: ModelCost = cost) -> float:
        return model.fit_seconds(rows, F, K, fit_threads(rows, F, cfg.n_jobs))

    add(Step("start", "start, read the config and the data", START_SECONDS
             + LOAD_SECONDS_PER_CELL * (shape.n_train + shape.n_test) * max(F, 1),
             rows=shape.n_train + shape.n_test))
    if shape.trainable:
        add(Step("fit model", f"fit {mcfg.name} on every training row", fit(shape.n_train), rows=shape.n_train))
    candidates = 1
    candidates += _tuning(plan, cfg, shape, analyses, fit)
    oof = _out_of_fold(plan, cfg, shape, analyses, fit)
    candidates += _ensembles(plan, cfg, shape, analyses, fit, config_dirs)
    if shape.trainable or cfg.model.path:  # logged predictions are read, not made
        add(Step("predict", f"predict the test rows ({candidates} model(s))",
                 candidates * cost.predict_seconds(shape.n_test, F, K), rows=shape.n_test))
    if oof is not None:
        if plan.stacking and plan.stacking_rows == plan.oof_rows and cfg.model.name in cfg.ensemble.members:
            oof.why = (oof.why + "; " if oof.why else "") + "stacking reuses these fits of the configured model"
        add(oof)
    if not shape.image_pixels:  # pixels are not columns: those sections skip image data (analyses.base.IMAGES)
        _importance(plan, cfg, shape, analyses)
        _drift(plan, shape, analyses)
    _saliency(plan, cfg, shape, analyses)
    rows = min(shape.n_test, cfg.bootstrap.max_exact_rows) if K <= 2 else shape.n_test  # multiclass: every row
    ranked = K > 2 and ranks_every_class(cfg.bootstrap.resamples, shape.n_test, K)  # else DeLong's, not resampled
    boot = cfg.bootstrap.resamples * rows * (1 + (K if ranked else 0))
    add(Step("intervals", f"bootstrap intervals ({cfg.bootstrap.resamples:,} resamples) of each model's metrics",
             BOOTSTRAP_SECONDS_PER_ROW * boot * (candidates if "leaderboard" in analyses else 1),
             rows=shape.n_test, repeats=cfg.bootstrap.resamples))
    if "slices" in analyses and not shape.image_pixels:
        searched = min(F, 30) * (min(F, 30) + 1) // 2 * 4  # one- and two-column segments (~4 values each)
        add(Step("slices", "metrics per slice and the weak-segment search",
                 SEGMENT_SECONDS_PER_ROW * shape.n_test * searched, rows=shape.n_test))
    if K > 2 and ("metrics" in analyses or "curves" in analyses):
        add(Step("class rankings", f"one-vs-rest curves and areas of each of the {K:,} classes",
                 RANKING_SECONDS_PER_CELL * K * shape.n_test, rows=shape.n_test))
    add(Step("sections", f"the other work of {len(analyses)} sections", SECTION_SECONDS * len(analyses)))
    formats = [f for f in cfg.report.formats if f in ("html", "pdf")]
    if formats:
        per_class = RENDER_SECONDS_PER_CLASS * K if K > 2 else 0.0
        add(Step("render", f"figures, {' and '.join(f.upper() for f in formats)}",
                 (RENDER_SECONDS + per_class) * len(formats) / 2))
    return plan


def _tuning(plan: Plan, cfg, shape: Shape, analyses: dict, fit) -> int:
    """Trials: tuning.n_trials, fewer when their planned cross-validations and the refit pass tuning.timeout (the
    configured parameters are scored first and are trial 0); none when one does not fit."""
    tcfg = cfg.tuning
    asked = "tuning" in analyses or cfg.report.subject == "tuned"
    if not (asked and tcfg.enabled and shape.trainable):
        return 0
    rows = min(shape.n_train, tcfg.max_rows or shape.n_train)
    per_fold = rows * (tcfg.cv - 1) // tcfg.cv
    configured = tcfg.cv * fit(per_fold)
    typical = tcfg.cv * fit(per_fold, _middle_of_space(plan.cost, cfg.model.search_space))
    refit = fit(shape.n_train, _middle_of_space(plan.cost, cfg.model.search_space))
    trials = tcfg.n_trials
    why = ""
    if tcfg.timeout is not None:
        room = tcfg.timeout - configured - refit
        trials = 0 if room < 0 else min(tcfg.n_trials, 1 + int(room // max(typical, 1e-9)))
        if trials == 0:
            why = (f"one {tcfg.cv}-fold cross-validation and the refit are planned at {configured + refit:.0f} s, "
                   f"over tuning.timeout={tcfg.timeout:g} s")
        elif trials < tcfg.n_trials:
            why = (f"{trials} of tuning.n_trials={tcfg.n_trials}: each further trial is planned at {typical:.1f} s "
                   f"and tuning.timeout={tcfg.timeout:g} s holds {trials} with the refit")
    seconds = configured + max(trials - 1, 0) * typical + refit if trials else 0.0
    plan.steps.append(Step("tuning", f"{tcfg.sampler} search, cross-validated on {rows:,} rows", seconds,
                           rows=rows, folds=tcfg.cv, trials=trials, runs=trials > 0, why=why))
    plan.tuning_trials = trials
    return int(trials > 0)


def _middle_of_space(cost: ModelCost, space) -> ModelCost:
    """The model's cost at the middle of its search space (geometric for log ranges): a typical trial."""
    if cost.kind not in ("gbdt", "forest") or not space:
        return cost

    def middle(name, default):
        spec = space.get(name) if hasattr(space, "get") else None
        if not spec or spec.get("low") is None:
            return default
        low, high = float(spec["low"]), float(spec["high"])
        return int(math.sqrt(low * high) if spec.get("log") else (low + high) / 2)

    return ModelCost(cost.kind, trees=middle("n_estimators", cost.trees), leaves=middle("num_leaves", cost.leaves))


def _ensembles(plan: Plan, cfg, shape: Shape, analyses: dict, fit, config_dirs: tuple) -> int:
    """Members fitted here, and stacking when its out-of-fold fits are planned within ensemble.stacking.max_seconds.
    Returns how many candidates they add."""
    ecfg = cfg.ensemble
    if not (ecfg.enabled and "leaderboard" in analyses and shape.n_train and (shape.trainable or cfg.model.path)):
        return 0  # members are fitted on the training rows, beside a configured or a loaded model
    rows = min(shape.n_train, ecfg.max_rows or shape.n_train)
    members, seconds, costs = [], 0.0, []
    for name in ecfg.members:
        mcfg = member_config(name, cfg.n_jobs, config_dirs)
        target = mcfg.regressor if shape.task == "regression" else mcfg._target_
        if not target:
            continue
        member = model_cost(target, dict(mcfg.params or {}))
        costs.append(member)
        members.append(name)
        if name != cfg.model.name:
            seconds += fit(rows, member)
    plan.steps.append(Step("ensemble members", f"fit {', '.join(members)}", seconds, rows=rows))
    added = len([m for m in members if m != cfg.model.name])
    methods = list(ecfg.methods)
    if "stacking" in methods and len(members) >= 2:
        st = ecfg.stacking
        st_rows = stacking_rows(cfg, shape.n_train, plan.oof_rows)
        plan.stacking_rows = st_rows
        per_fold = st_rows * (st.cv - 1) // st.cv
        shared = st_rows == plan.oof_rows and st.cv == OOF_FOLDS  # the configured model's folds: the sections'
        cost = st.cv * sum(fit(per_fold, m) for name, m in zip(members, costs)
                           if not (shared and name == cfg.model.name))
        plan.stacking = st.max_seconds is None or cost <= st.max_seconds
        why = "" if plan.stacking else (f"its {st.cv} out-of-fold fits of each member are planned at {cost:.0f} s, "
                                        f"over ensemble.stacking.max_seconds={st.max_seconds:g}")
        plan.steps.append(Step("stacking", f"{st.cv}-fold out-of-fold predictions of each member, then the "
                               "meta-model", cost if plan.stacking else 0.0, rows=st_rows, folds=st.cv,
                               runs=plan.stacking, why=why))
        added += int(plan.stacking)
    added += len([m for m in methods if m != "stacking" and (len(members) >= 2 or m in ("bagging", "boosting",
                                                                                        "gradient_boosting"))])
    return added


def stacking_rows(cfg, n_train: int, oof_rows: Optional[int]) -> int:
    """Stacking learns from the sections' out-of-fold rows when it uses their folds (one set of fits of the
    configured model for both), else from at most ensemble.stacking.max_rows."""
    st = cfg.ensemble.stacking
    if oof_rows and st.cv == OOF_FOLDS:
        return oof_rows
    return min(n_train, st.max_rows or n_train)


def _out_of_fold(plan: Plan, cfg, shape: Shape, analyses: dict, fit) -> Optional[Step]:
    """The configured model's out-of-fold predictions, shared by calibration, thresholds and conformal (and by
    stacking when it uses the same folds and rows): on at most OOF_MAX_ROWS training rows, down to half of them when
    their fits pass budget.out_of_fold_seconds; not run when even half does not fit (a model whose cost is per tree
    and class more than per row would lose most rows for little time), below MIN_OOF_ROWS, or when a class would
    have fewer rows than folds. The sections then use their test-half methods."""
    users = [a for a in OOF_USERS if a in analyses and not (a == "thresholds" and shape.task != "binary")]
    if not users or not shape.trainable or shape.n_train < 10 * OOF_FOLDS:
        return None
    if shape.task != "regression" and shape.smallest_class < OOF_FOLDS:
        return None
    per_fold = lambda rows: OOF_FOLDS * fit(rows * (OOF_FOLDS - 1) // OOF_FOLDS)  # noqa: E731
    wanted = min(shape.n_train, OOF_MAX_ROWS)
    budget = cfg.budget.out_of_fold_seconds
    rows = affordable(per_fold, wanted, budget, 0)
    least = max(MIN_OOF_ROWS, math.ceil(wanted / 2))  # fewer than half: a model that costs per tree, not per row
    if shape.task != "regression":  # the sample keeps each class's share: the rarest needs a row per fold
        least = max(least, math.ceil(OOF_FOLDS * shape.n_train / max(shape.smallest_class, 1)))
    why = "" if rows == wanted else (f"{rows:,} of {wanted:,} rows: {OOF_FOLDS} fits on all of them are planned at "
                                     f"{per_fold(wanted):.0f} s, over budget.out_of_fold_seconds={budget:g}")
    if rows < least:
        why = (f"not run: even {least:,} of {wanted:,} rows would be planned at {per_fold(least):.1f} s, over "
               f"budget.out_of_fold_seconds={budget:g}; the sections use their test-half methods")
        return Step("out-of-fold", f"out-of-fold predictions for {', '.join(users)}", 0.0, rows=0,
                    folds=OOF_FOLDS, runs=False, why=why)
    plan.oof_rows = rows
    return Step("out-of-fold", f"{OOF_FOLDS}-fold out-of-fold predictions for {', '.join(users)}", per_fold(rows),
                rows=rows, folds=OOF_FOLDS, why=why)


DRIFT_SECONDS_PER_CELL = 2e-7  # the per-column tests, per row x column of both samples
DRIFT_SECONDS_PER_COLUMN = 2e-3  # and per column (scipy's KS and Wasserstein calls: 2,000 columns, 4 s)


def _drift(plan: Plan, shape: Shape, analyses: dict) -> None:
    """The per-column tests on every row, and the domain classifier's folds on at most domain_rows per side."""
    settings = analyses.get("drift")
    if settings is None or shape.n_train == 0:
        return
    rows = min(shape.n_train, settings.domain_rows) + min(shape.n_test, settings.domain_rows)
    domain = ModelCost("gbdt", trees=100, leaves=15)
    seconds = ((DRIFT_SECONDS_PER_CELL * (shape.n_train + shape.n_test) + DRIFT_SECONDS_PER_COLUMN)
               * max(shape.n_features, 1)
               + domain.fit_seconds(rows // 2, shape.n_features, 2))
    if settings.reference is None and shape.trainable and plan.cost is not None:
        # prediction drift: the model's predictions on a sample of the training rows
        from postreport.analyses.drift import PREDICTION_ROWS

        seconds += plan.cost.predict_seconds(min(shape.n_train, settings.domain_rows, PREDICTION_ROWS),
                                             shape.n_features, shape.n_classes)
    plan.steps.append(Step("drift", "per-column tests and the domain classifier (fitted on half the rows)", seconds,
                           rows=rows))


DENSE_HIDDEN = 128  # a model fitted here on pixels: ops taken as a dense layer of this width
SALIENCY_SECONDS_PER_OP = 5e-10  # measured: bench_images.py, 7e9 multiply-adds of a small CNN in 3.1 s
SALIENCY_SECONDS_PER_EVAL = 2e-5  # per image the model is asked about (blending, batching)


def _saliency(plan: Plan, cfg, shape: Shape, analyses: dict) -> None:
    """Image data: RISE's masks from the model's size and the examples (never from the clock), and the work of the
    maps and their checks: occlusion windows and masks per example, the class maps, the randomised copies and the
    deletion / insertion curves."""
    settings = analyses.get("saliency")
    if settings is None:
        return
    if not shape.image_pixels:
        if shape.trainable or cfg.model.path:  # logged predictions: no model to explain (the section skips)
            _tabular_saliency(plan, shape, analyses, settings)
        return
    from postreport.explain.image_saliency import RANDOM_ORDERS, STEPS, plan_masks

    examples = min(shape.n_test, 3 * settings.examples)
    masks = settings.masks or plan_masks(shape.model_ops, examples)
    side = int(shape.image_pixels ** 0.5)
    window = settings.window or max(1, side // 8)
    windows = (-(-side // (settings.stride or window))) ** 2
    per_example = windows + masks
    evals = (examples * per_example * (1 + (2 if settings.checks else 0))
             + max(shape.n_classes, 1) * settings.per_class * windows
             + (examples * 2 * 2 * (STEPS + 1) * (1 + RANDOM_ORDERS) if settings.checks else 0))
    seconds = evals * (shape.model_ops * SALIENCY_SECONDS_PER_OP + SALIENCY_SECONDS_PER_EVAL)
    plan.saliency_masks = masks
    plan.steps.append(Step("saliency", f"occlusion ({windows} windows) and RISE ({masks} masks) maps of {examples} "
                                       "examples, class maps" + (", randomisation and deletion checks"
                                                                 if settings.checks else ""), seconds,
                           rows=examples, repeats=masks,
                           why="" if settings.masks else f"masks from the model's {shape.model_ops:,} multiply-adds "
                                                         "per image"))


MIN_DELETION_ROWS = 30  # the deletion check's fewest rows (its interval is over the rows)
TABULAR_DELETION_STEPS = 10  # image_saliency.feature_deletion's default: the top features replaced one at a time


def _tabular_saliency(plan: Plan, shape: Shape, analyses: dict, settings) -> None:
    """Tabular saliency: the attributions (shared with feature importance when it runs with the same settings, so
    planned there) and the deletion check's predictions: (steps + 1) frames of DELETION_ROWS rows, in the
    attributions' order and RANDOM_ORDERS random ones."""
    from postreport.analyses.saliency import DELETION_ROWS
    from postreport.explain.image_saliency import RANDOM_ORDERS

    F, K, cost = max(shape.n_features, 1), shape.n_classes, plan.cost
    rows = plan.rows_for(settings)
    seconds = 0.0 if "feature_importance" in analyses else cost.attribution_seconds(
        rows["attributions"], F, K, settings.permutations, settings.background)
    checked = settings.checks and shape.task != "regression"
    why = ""
    if checked:
        frames = (min(TABULAR_DELETION_STEPS, F) + 1) * (1 + RANDOM_ORDERS)  # predictions per row
        wanted = min(rows["attributions"], DELETION_ROWS)
        third = None if settings.max_seconds is None else settings.max_seconds / 3
        plan.deletion_rows = affordable(lambda r: cost.predict_seconds(frames * r, F, K), wanted, third,
                                        min(MIN_DELETION_ROWS, wanted))
        seconds += cost.predict_seconds(frames * plan.deletion_rows, F, K)
        if plan.deletion_rows < wanted:
            why = (f"the deletion check on {plan.deletion_rows:,} of {wanted:,} rows, sized to a third of "
                   f"analyses.saliency.max_seconds={settings.max_seconds:g}")
    plan.steps.append(Step("saliency", "attribution heat map and waterfalls" + (
        f", the deletion check on {plan.deletion_rows:,} rows" if checked else ""), seconds,
        rows=rows["attributions"], why=why))


def _importance(plan: Plan, cfg, shape: Shape, analyses: dict) -> None:
    """Permutation importance, attributions and partial dependence on the rows Plan.rows_for sizes."""
    settings = analyses.get("feature_importance")
    if settings is None or not (shape.trainable or cfg.model.path):
        return
    rows = plan.rows_for(settings)
    sampled = min(shape.n_test, settings.sample_size)
    sized = [f"{name} on {n:,} of {sampled:,}" for name, n in (
        ("permutation", rows["permutation"]), ("attributions", rows["attributions"])) if n < sampled]
    if rows["repeats"] < settings.repeats:
        sized.append(f"{rows['repeats']} of {settings.repeats} permutation repeats")
    plan.steps.append(Step("feature importance", "permutation importance, attributions and partial dependence",
                           rows["seconds"], rows=rows["permutation"], repeats=rows["repeats"],
                           why=("sized to analyses.feature_importance.max_seconds: " + ", ".join(sized))
                           if sized else ""))


MEASURED_AS = {  # plan step -> the run's timer steps that measure it
    "start": ("load data",), "fit model": ("fit or load model",), "tuning": ("tuning",),
    "out-of-fold": ("out-of-fold",), "ensemble members": ("ensembles",), "predict": ("predict",),
    "feature importance": ("analysis: feature_importance",),
    "intervals": ("analysis: metrics", "analysis: leaderboard"), "slices": ("analysis: slices",),
    "saliency": ("analysis: saliency",), "drift": ("analysis: drift",),
    "render": ("draw figures", "render html", "render pdf"),
}


def measured(plan: Plan, timings: dict) -> dict:
    """Measured seconds per plan step from the run's timer (step name -> seconds); stacking is inside "ensemble
    members", "sections" is every other section."""
    counted = {n for names in MEASURED_AS.values() for n in names}
    out = {step: sum(timings.get(n, 0.0) for n in names) for step, names in MEASURED_AS.items()}
    out["predict"] += sum(v for k, v in timings.items() if k.startswith("predict ("))
    out["sections"] = sum(v for k, v in timings.items() if k.startswith("analysis: ") and k not in counted)
    return {s.name: out.get(s.name) for s in plan.steps}


