"""The run's plan: every expensive choice, decided before any model is fitted, from the config and the data's shape.

Rows sampled per step, trials, folds, whether stacking is built, which out-of-fold fits run: all come from rows x
columns x classes and the model's settings through fixed cost formulas (postreport.planning.costs), never from a clock, so
the same config and data give the same plan, sections and numbers on a busy machine or a quiet one. The budgets a
step is sized to (tuning.timeout, ensemble.stacking.max_seconds, budget.out_of_fold_seconds,
analyses.feature_importance.max_seconds) are *planned* seconds on the reference machine. `budget.profile` scales
them (profiled); `budget.max_seconds` is the one wall-clock limit, a safety net that cuts (runner).
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from omegaconf import OmegaConf

from postreport import registry
from postreport.analyses.base import planned_to_run

from postreport.stats.bootstrap import MAX_OVO_CLASSES, intervals_on, ranks_every_class
from postreport.planning.costs import ModelCost, bootstrap_seconds, model_cost
from postreport.models.ensembles import MODEL, member_config
from postreport.errors import UserError
from postreport.explain.attributions import MIN_ROWS
from postreport.models.out_of_fold import FOLDS as OOF_FOLDS
from postreport.planning.threads import fit_threads
from postreport.explain.image_saliency import file_ops

PROFILES = ("quick", "default", "thorough")
THOROUGH = 4  # thorough: trials and every planned budget x4, permutation repeats x2, 2,000 bootstrap resamples
OOF_MAX_ROWS = 20000  # at most this many training rows (a seeded sample) for them
MIN_OOF_ROWS = 200  # fewer rows than this: the sections fall back to their test-half methods
FLOOR_ROWS = 50  # importance passes go below explain.MIN_ROWS only when MIN_ROWS do not fit, and never below this
# the rest of a run, in reference seconds (measured on the default report and bench/bench_plan.py's cases)
START_SECONDS = 1.2  # Python, imports, config: before the run's timer starts (not measured)
LOAD_SECONDS = 1.0  # reading the data: pandas' and the reader's start (measured 1.0-1.1 s on 570 to 6,000 rows)
LOAD_SECONDS_PER_CELL = 1e-7  # and per row x column (300,000 x 21 parquet: 1.5-1.7 s in all)
RENDER_SECONDS = 3.0  # figures, HTML and the PDF of a report with every section
RENDER_SECONDS_PER_CLASS = 0.005  # and per class: the HTML's rows and thin per-class curves (the PDF prints at most
# report.model.PRINT_ROWS rows of a per-class table and draws as many classes: 40 classes +0.4 s, 500 +1.2 s)
SECTION_SECONDS = 0.05  # each section's own fixed cost (a section that plans no step of its own)
RANKING_SECONDS_PER_CELL = 1.1e-6  # multiclass: one-vs-rest curves and areas, per class and test row (500 x 20k: 11 s)
DENSE_HIDDEN = 128  # a model fitted here on pixels: ops taken as a dense layer of this width


def explicit(overrides, key: str) -> bool:
    """Did the command line (or the API's overrides) set this key itself?"""
    for item in overrides or ():
        name = str(item).split("=", 1)[0].lstrip("+~")
        if name == key:
            return True
    return False


def profiled(cfg, overrides=()):
    """The run's settings: a copy of the config scaled by budget.profile, before anything reads it (the given
    config is not changed). Settings the overrides name win."""
    cfg = copy.deepcopy(cfg)
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
        put("report.analyses", [a for a in cfg.report.analyses if _quick(a)])
        put("tuning.enabled", False)
        put("ensemble.enabled", False)
    elif profile == "thorough":
        put("tuning.n_trials", cfg.tuning.n_trials * THOROUGH)
        for key in ("tuning.timeout", "ensemble.stacking.max_seconds", "budget.out_of_fold_seconds"):
            value = OmegaConf.select(cfg, key)
            if value is not None:
                put(key, value * THOROUGH)
        for name, node in (cfg.get("analyses") or {}).items():  # each section's own (its `thorough`)
            for key, factor in getattr(_analysis(name), "thorough", {}).items():
                if node is not None and node.get(key) is not None:
                    put(f"analyses.{name}.{key}", node.get(key) * factor)
        put("bootstrap.resamples", max(cfg.bootstrap.resamples, 2000))
    return cfg


def with_threads(cfg, threads: int):
    """The run's settings once planned: model fits get the plan's threads (every model config reads ${n_jobs})."""
    cfg = copy.deepcopy(cfg)
    cfg.n_jobs = threads
    return cfg


def _analysis(name: str):
    """The registered analysis class, or None for a name validation will refuse (it names it there)."""
    try:
        return registry.get(name)
    except UserError:
        return None


def _quick(name: str) -> bool:
    """Whether the analysis is in budget.profile=quick's report (its `quick`); an unknown name stays, for validation
    to name it."""
    cls = _analysis(name)
    return cls is None or bool(getattr(cls, "quick", False))


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
    refittable: Optional[bool] = None  # trainable, or a scikit-learn estimator fitted elsewhere whose clones can be
    # fitted here (None: as trainable)

    def __post_init__(self):
        if self.refittable is None:
            object.__setattr__(self, "refittable", self.trainable)  # frozen

    @staticmethod
    def of(data, cfg) -> "Shape":
        trainable = data.X_train is not None and data.logged is None and not cfg.model.path
        smallest = 0
        if data.X_train is not None and data.task != "regression" and data.n_train:
            smallest = int(data.y_train.value_counts().min())
        pixels = 0 if not data.image_shape else int(data.image_shape[0] * data.image_shape[1])
        ops = 0
        if pixels:
            ops = file_ops(cfg.model.path, pixels) if str(cfg.model.path or "").endswith(".onnx") else \
                len(data.features) * DENSE_HIDDEN
        refittable = trainable or (data.X_train is not None and data.logged is None and clonable(cfg.model.path))
        return Shape(data.task, int(data.n_train or 0), int(data.n_test), len(data.features),
                     0 if data.task == "regression" else len(data.labels), trainable, smallest, pixels, ops,
                     refittable)


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
    measured_seconds: Optional[float] = None  # what it took (the run's timer steps in measured_by), once it ran
    measured_by: tuple = ()  # the run's timer steps that measure it (an analysis's step: "analysis: <name>")

    def to_json(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()
                if k != "measured_by"}


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
    cfg: Any = None  # the run's config, read by the sections' plans (never written)
    queried: bool = False  # there is a model to query (fitted here, or from a file; not logged predictions)
    candidates: int = 1  # the models whose test predictions the run makes (the configured, tuned, ensembles)
    predictors: list = field(default_factory=list)  # ModelCost of each that predicts itself (an ensemble of members
    # combines their predictions)
    sizes: dict = field(default_factory=dict)  # what a section's plan decided ("saliency.masks"), for its compute
    claimed: set = field(default_factory=set)  # work two sections share, planned by the first (once)

    def once(self, key: str) -> bool:
        """True for the first section that asks: work shared by sections (cached in the run) is planned once."""
        first = key not in self.claimed
        self.claimed.add(key)
        return first

    def bootstrap_seconds(self, rows: Optional[int] = None, scores: bool = True, paired: bool = False) -> float:
        """One bootstrap of every metric of a model on `rows` test rows (default: all): binary scores grouped above
        bootstrap.max_exact_rows rows unless paired; multiclass ranks every class when ranks_every_class."""
        b, K = self.cfg.bootstrap, self.shape.n_classes
        if not intervals_on(b):
            return 0.0
        rows = self.shape.n_test if rows is None else rows
        return bootstrap_seconds(K, rows, b.resamples, scores, exact=paired or rows <= b.max_exact_rows,
                                 max_bins=b.max_bins, ranked=ranks_every_class(b.resamples, rows, K),
                                 one_vs_one=K <= MAX_OVO_CLASSES)

    def metrics_seconds(self, *which: str) -> float:
        """The bootstrap intervals of candidates' metrics on the test rows, each candidate's planned once (by the
        first section that shows it: the run computes each once and shares it). which: "configured", "tuned"
        (when tuning runs), "others" (the ensembles and their members)."""
        tuned = int(self.tuning_trials > 0)
        count = {"configured": 1, "tuned": tuned, "others": max(self.candidates - 1 - tuned, 0)}
        return sum(count[w] for w in which if count[w] and self.once(f"metrics: {w}")) * self.bootstrap_seconds()

    def ranking_seconds(self) -> float:
        """Multiclass: one-vs-rest curves and areas of every class (computed once, by the first section that
        needs them)."""
        return RANKING_SECONDS_PER_CELL * self.shape.n_classes * self.shape.n_test if self.shape.n_classes > 2 else 0

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
                "seconds": seconds, "attribution_seconds": attribution(attributions)}

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
    """The plan for this config and shape. analyses: the sections the report runs, in order, as name -> (analysis
    class, settings); each section plans its own steps (its `plan`); config_dirs: folders of the user's model
    configs (ensemble members)."""
    mcfg = cfg.model
    target = mcfg.regressor if shape.task == "regression" else mcfg._target_
    params = dict(mcfg.params or {}) if not mcfg.path else {}
    if mcfg.path:  # a model fitted elsewhere: its class and parameters when it is in memory, else unknown
        target, params = given_drivers(mcfg.path)
    F, K = shape.n_features, shape.n_classes
    threads = fit_threads(shape.n_train, F, cfg.n_jobs) if shape.trainable else 1
    if cfg.cv is not None:  # the folds' fits, one after another, each on the threads its rows call for
        threads = fit_threads(cv_train_rows(cfg, shape), F, cfg.n_jobs)
    cost = model_cost(target, params, threads)
    plan = Plan(cfg.budget.profile, shape, threads, cost=cost, cfg=cfg,
                queried=(shape.trainable or bool(cfg.model.path)) and cfg.cv is None)
    sections = {name: (cls(), settings) for name, (cls, settings) in analyses.items()}
    planned = {name: pair for name, pair in sections.items() if planned_to_run(pair[0], plan)}
    users = {use: [name for name, (a, _) in planned.items() if use in getattr(a, "uses", ())]
             for use in ("tuning", "ensembles", "out_of_fold")}
    add = plan.steps.append

    def fit(rows: int, model: ModelCost = cost) -> float:
        return model.fit_seconds(rows, F, K, fit_threads(rows, F, cfg.n_jobs))

    add(Step("start", "start Python, read the config", START_SECONDS))  # before any timer: not measured
    add(Step("load data", "read the data", LOAD_SECONDS + LOAD_SECONDS_PER_CELL * (shape.n_train + shape.n_test)
             * max(F, 1), rows=shape.n_train + shape.n_test, measured_by=("load data",)))
    if shape.trainable:
        add(Step("fit model", f"fit {mcfg.name} on every training row", fit(shape.n_train), rows=shape.n_train,
                 measured_by=("fit or load model",)))
    candidates = 1
    candidates += _tuning(plan, cfg, shape, bool(users["tuning"]), fit)
    oof = _out_of_fold(plan, cfg, shape, users["out_of_fold"], fit)
    candidates += _ensembles(plan, cfg, shape, bool(users["ensembles"]), fit, config_dirs)
    others = [model_cost(*given_drivers(path), 1) for path in cfg.compare.models or ()]  # fitted elsewhere
    if cfg.cv is None:
        plan.predictors += others
    else:
        add(_cross_validation(cfg, shape, [cost, *others], threads))
    plan.candidates = candidates + len(others)
    if plan.queried:  # logged predictions are read, not made
        predictors = [cost, *plan.predictors]
        add(Step("predict", f"predict the test rows ({candidates} model(s))",
                 sum(m.predict_seconds(shape.n_test, F, K) for m in predictors), rows=shape.n_test,
                 measured_by=("predict",)))
    if oof is not None:
        if plan.stacking and plan.stacking_rows == plan.oof_rows and cfg.model.name in cfg.ensemble.members:
            oof.why = (oof.why + "; " if oof.why else "") + "stacking reuses these fits of the configured model"
        add(oof)
    for name, (analysis, settings) in planned.items():
        for step in getattr(analysis, "plan", lambda plan, settings: [])(plan, settings) or ():
            step.measured_by = step.measured_by or (f"analysis: {name}",)
            add(step)
    add(Step("sections", f"the other work of {len(analyses)} sections", SECTION_SECONDS * len(analyses)))
    formats = [f for f in cfg.report.formats if f in ("html", "pdf")]
    if formats:
        per_class = RENDER_SECONDS_PER_CLASS * K if K > 2 else 0.0
        add(Step("render", f"figures, {' and '.join(f.upper() for f in formats)}",
                 (RENDER_SECONDS + per_class) * len(formats) / 2,
                 measured_by=("draw figures", *(f"render {f}" for f in formats))))
    return plan


def _tuning(plan: Plan, cfg, shape: Shape, used: bool, fit) -> int:
    """Trials: tuning.n_trials, fewer when their planned cross-validations and the refit pass tuning.timeout (the
    configured parameters are scored first and are trial 0); none when one does not fit."""
    tcfg = cfg.tuning
    asked = used or cfg.report.subject == "tuned"
    space = cfg.model.search_space if shape.trainable else given_search_space(cfg, shape)
    if not (asked and tcfg.enabled and (shape.trainable or space)):
        return 0
    rows = min(shape.n_train, tcfg.max_rows or shape.n_train)
    per_fold = rows * (tcfg.cv - 1) // tcfg.cv
    configured = tcfg.cv * fit(per_fold)
    typical = tcfg.cv * fit(per_fold, _middle_of_space(plan.cost, space))
    refit = fit(shape.n_train, _middle_of_space(plan.cost, space))
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
                           rows=rows, folds=tcfg.cv, trials=trials, runs=trials > 0, why=why, measured_by=("tuning",)))
    plan.tuning_trials = trials
    if trials:
        plan.predictors.append(_middle_of_space(plan.cost, space))
    return int(trials > 0)


def given_search_space(cfg, shape: Shape) -> Optional[dict]:
    """The search space of a model fitted elsewhere that can be refitted: model.search_space, or (held in memory)
    the packaged config's of its class (postreport.models.tuning.given_space); None when there is none."""
    from postreport.data.held import held, is_held
    from postreport.models.tuning import given_space

    if not shape.refittable:
        return None
    if not is_held(cfg.model.path):
        return dict(cfg.model.search_space or {}) or None
    return given_space(cfg.model, held(cfg.model.path, "model.path"), shape.task)[0]


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

    return ModelCost(cost.kind, trees=middle("n_estimators", cost.trees), leaves=middle("num_leaves", cost.leaves),
                     threads=cost.threads)


def _ensembles(plan: Plan, cfg, shape: Shape, used: bool, fit, config_dirs: tuple) -> int:
    """Members fitted here, and stacking when its out-of-fold fits are planned within ensemble.stacking.max_seconds.
    Returns how many candidates they add."""
    ecfg = cfg.ensemble
    if not (ecfg.enabled and used and shape.n_train and plan.queried):
        return 0  # members are fitted on the training rows, beside a configured or a loaded model
    rows = min(shape.n_train, ecfg.max_rows or shape.n_train)
    members, seconds, costs = [], 0.0, []
    for name in ecfg.members:
        if name == MODEL:  # the report's model: fitted already (or given)
            costs.append(plan.cost)
            members.append(name)
            continue
        mcfg = member_config(name, cfg.n_jobs, config_dirs)
        target = mcfg.regressor if shape.task == "regression" else mcfg._target_
        if not target:
            continue
        member = model_cost(target, dict(mcfg.params or {}), plan.threads)
        costs.append(member)
        members.append(name)
        if name != cfg.model.name:
            seconds += fit(rows, member)
            plan.predictors.append(member)
    plan.steps.append(Step("ensemble members", f"fit {', '.join(members)}", seconds, rows=rows,
                           measured_by=("ensembles",)))  # stacking's fits are inside this timer step
    added = len([m for m in members if m not in (cfg.model.name, MODEL)])
    methods = list(ecfg.methods)
    if "stacking" in methods and len(members) >= 2:
        st = ecfg.stacking
        st_rows = stacking_rows(cfg, shape.n_train, plan.oof_rows)
        plan.stacking_rows = st_rows
        per_fold = st_rows * (st.cv - 1) // st.cv
        shared = st_rows == plan.oof_rows and st.cv == OOF_FOLDS  # the configured model's folds: the sections'
        cost = st.cv * sum(fit(per_fold, m) for name, m in zip(members, costs)
                           if not (shared and name in (cfg.model.name, MODEL)))
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


def clonable(path) -> bool:
    """Whether a model fitted elsewhere can be cloned and its clones fitted here (the out-of-fold sections): a
    scikit-learn estimator held in memory, or one saved with skops or joblib (a LightGBM text model or an ONNX file
    holds only its fitted state)."""
    from postreport.data.held import held, is_held

    if not path:
        return False
    if is_held(path):
        from sklearn.base import BaseEstimator

        from postreport.models.loaded import LoadedModel

        estimator = held(path, "model.path")
        return isinstance(estimator, BaseEstimator) and not isinstance(estimator, LoadedModel)
    return str(path).lower().endswith((".skops", ".joblib", ".pkl", ".pickle"))


def given_drivers(path) -> tuple:
    """(estimator class path, params) of a model fitted elsewhere: read from the estimator itself when it is held in
    memory (postreport.evaluate), its last step for a pipeline; unknown for a file (its cost is generic)."""
    from postreport.data.held import held, is_held

    if not is_held(path):
        return None, {}
    from postreport.models.build import final_step

    final = final_step(held(path, "model.path"))
    params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
    return f"{type(final).__module__}.{type(final).__name__}", params


def cv_train_rows(cfg, shape: Shape) -> int:
    """The rows each fold's model is fitted on: (k - 1) / k of them."""
    from postreport.models.cross_validation import folds_of

    k = folds_of(cfg.cv)
    return shape.n_test * (k - 1) // k


def _cross_validation(cfg, shape: Shape, costs: list, threads: int) -> Step:
    """cv: every model fitted once per fold on the other folds' rows and predicting its fold's, one fold after
    another (worker processes per fold measured slower on 300,000 rows: each fit is memory-bound, and the rows are
    copied to every worker), each fit on `threads`."""
    from postreport.models.cross_validation import folds_of

    k, n, F, K = folds_of(cfg.cv), shape.n_test, shape.n_features, shape.n_classes
    train = cv_train_rows(cfg, shape)
    seconds = sum(k * (c.fit_seconds(train, F, K, threads) + c.predict_seconds(n // k, F, K)) for c in costs)
    return Step("cross-validation", f"{k} folds: {len(costs)} model(s) each fitted on about {train:,} rows",
                seconds, rows=n, folds=k, measured_by=("cross-validate",))


def _out_of_fold(plan: Plan, cfg, shape: Shape, users: list, fit) -> Optional[Step]:
    """The configured model's out-of-fold predictions, shared by calibration, thresholds and conformal (and by
    stacking when it uses the same folds and rows): on at most OOF_MAX_ROWS training rows, down to half of them when
    their fits pass budget.out_of_fold_seconds; not run when even half does not fit (a model whose cost is per tree
    and class more than per row would lose most rows for little time), below MIN_OOF_ROWS, or when a class would
    have fewer rows than folds. The sections then use their test-half methods."""
    if not users or not shape.refittable or shape.n_train < 10 * OOF_FOLDS:
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
                rows=rows, folds=OOF_FOLDS, why=why, measured_by=("out-of-fold",))


def measured(plan: Plan, timings: dict) -> None:
    """Each step's measured_seconds from the run's timer (step name -> seconds): the sum of its measured_by steps
    once each has run (a timer step two plan steps share goes to the first; the render step is measured after the
    HTML and PDF, so metrics.json, written before, has none); "predict" also counts the later candidates'
    predictions, "sections" every section with no step of its own."""
    counted = set()
    for step in plan.steps:
        mine = [n for n in step.measured_by if n not in counted]
        counted.update(step.measured_by)
        if step.name == "predict":
            mine += [k for k in timings if k.startswith("predict (")]
        done = bool(mine) and all(n in timings for n in mine)
        step.measured_seconds = sum(timings[n] for n in mine) if done else None  # None: not (yet) run
    others = plan.step("sections")
    if others is not None:
        others.measured_seconds = sum(v for k, v in timings.items() if k.startswith("analysis: ") and k not in counted)
