"""Config schemas (dataclasses in Hydra's ConfigStore) and where the built-in configs live.

The schemas make a typo in a key, or a value of the wrong type, an error at composition time
that names the key. Each analysis's settings are its own `Settings` dataclass, the one place its
defaults are written: `analyses.<name>` is that dataclass, for every registered analysis.
Model `params` are an open dictionary (each estimator takes its own).
"""
from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from postreport import registry
from postreport.registry import NoSettings

TASKS = ("binary", "multiclass", "regression")
FORMATS = ("html", "pdf", "json", "junit", "markdown", "model_card")  # gates.xml, summary.md, MODEL_CARD.md
# Tokens that mean "no value" in a column that is otherwise numeric (pandas already reads empty, NA, n/a, null, NaN)
NA_TOKENS = ["?", "-", "--", ".", "na", "n.a.", "none", "missing", "unknown", "#N/A", "#NA", "NULL", "nil"]
MISSING_PREDICTIONS = ("error", "drop")


@dataclass
class SparkConfig:
    master: str = "local[*]"  # a cluster's master URL, e.g. spark://host:7077 or yarn
    conf: Dict[str, Any] = field(default_factory=dict)  # spark.* settings, e.g. {spark.executor.memory: 8g}


@dataclass
class DataConfig:
    name: str = MISSING
    source: str = "file"  # sklearn | file | predictions | images
    path: Optional[str] = None  # training data (or all data, split here)
    test_path: Optional[str] = None  # held-out data; when given, no split is made
    target: Optional[str] = None
    drop: List[str] = field(default_factory=list)
    test_size: float = 0.25
    stratify: bool = True
    seed: Optional[int] = None  # defaults to the top-level seed
    task: Optional[str] = None  # binary | multiclass | regression; inferred when null
    positive_label: Optional[Any] = None
    image_shape: Optional[List[int]] = None
    # data=images (source: images): a folder of class sub-folders; see postreport/data/images.py
    image_size: Optional[List[int]] = None  # [H, W]: resize every image (null: they must share one size)
    channels: Optional[int] = None  # 1 | 3 (null: the first image's)
    scale: float = 1 / 255  # pixels x this
    normalize: Dict[str, List[float]] = field(default_factory=dict)  # {mean: [...], std: [...]} per channel
    layout: str = "NCHW"  # NCHW | NHWC: an ONNX model's 4-D input
    max_pixels: int = 89_478_485  # an image with more pixels is refused (Pillow's decompression-bomb limit)
    prediction: Optional[str] = "y_pred"  # data=predictions: the predicted label (or value) column
    scores: List[str] = field(default_factory=list)  # data=predictions: score columns (see conf/data/predictions.yaml)
    score_labels: Optional[List[Any]] = None  # data=predictions: the class of each score column, in order
    strip_labels: bool = False  # merge labels that differ only by surrounding spaces or case ("yes" / "Yes ")
    threshold: Optional[float] = None  # data=predictions: labels from binary scores that are not probabilities
    missing: str = "error"  # data=predictions: rows with no prediction or score: error | drop
    na_values: List[str] = field(default_factory=lambda: list(NA_TOKENS))  # read as missing in numeric columns
    encoding: Optional[str] = None  # CSV: null = UTF-8 (with or without a BOM), else Windows-1252, with a note
    sep: Optional[str] = None  # CSV: null = the one of , ; tab | that splits the header and first lines evenly
    decimal: Optional[str] = None  # CSV: null = '.', or ',' when sep is ';' and numbers are written 1,5
    id: Optional[str] = None  # a column of row keys (not a feature): predictions.parquet and comparisons pair on it
    # data=predictions over many rows (postreport.data.warehouse): which engine reads data.path (a file, folder or glob)
    engine: str = "auto"  # auto | pandas | duckdb | spark; auto: pandas up to engine_rows rows, DuckDB above
    engine_rows: int = 5_000_000
    score_bins: int = 100_000  # duckdb/spark: scores are grouped into this many equal-width bins
    memory_limit: str = "1GB"  # duckdb: beyond this it spills to disk
    threads: Optional[int] = None  # duckdb: threads (null: every core)
    spark: SparkConfig = field(default_factory=lambda: SparkConfig())


@dataclass
class ModelConfig:
    name: str = MISSING
    _target_: Optional[str] = None  # estimator class for classification (or any task)
    regressor: Optional[str] = None  # estimator class for regression, when it differs
    preprocessing: str = "none"  # none | native | trees | linear
    params: Dict[str, Any] = field(default_factory=dict)
    path: Optional[str] = None  # model=file: .skops, LightGBM .txt, ONNX .onnx, .joblib/.pkl (trust only)
    trust: bool = False
    features: Optional[List[str]] = None  # ONNX: the data's columns in the model input's order (null: file order)
    outputs: Dict[str, str] = field(default_factory=dict)  # ONNX: {labels, probabilities, values: output name}
    classes: Optional[List[Any]] = None  # ONNX: the classes in the order of the probability columns (null: read)
    scores: Optional[str] = None  # ONNX: probabilities | logits (sigmoid/softmax applied) | null: probabilities
    # where they are (each in [0, 1], rows summing to 1), else scores that only rank rows (said in the report)
    search_space: Dict[str, Any] = field(default_factory=dict)  # for tuning: name -> {type, low, high, log, choices}


@dataclass
class ReportConfig:
    title: str = "Model report"
    author: str = ""
    formats: List[str] = field(default_factory=lambda: ["html", "pdf", "json"])
    analyses: List[str] = field(default_factory=lambda: ["metrics", "confusion_matrix"])
    subject: str = "model"  # which candidate the analyses describe: model (as configured) | tuned
    keywords: List[str] = field(default_factory=list)  # PDF metadata, besides the task, model and data
    logo: Optional[str] = None  # a local PNG, JPEG or SVG file, embedded in the report
    theme: Dict[str, str] = field(default_factory=dict)  # colours: accent, ink, muted, line, warn, bad, ok, header
    template_dir: Optional[str] = None  # templates here override the built-in ones (see README)
    timings: bool = True  # false: no durations, so the same config (and SOURCE_DATE_EPOCH) gives the same report
    interactive: bool = True  # report.html: Plotly figures (hover, zoom, legend toggles) and the threshold explorer


@dataclass
class BootstrapConfig:
    """Bootstrap confidence intervals, shared by every analysis that reports them."""

    resamples: int = 1000  # 0 turns intervals off
    level: float = 0.95
    seed: Optional[int] = None  # defaults to the top-level seed
    max_exact_rows: int = 20000  # above this, binary test sets are grouped into cells (postreport.stats.bootstrap)
    max_bins: int = 2048  # score bins when grouped


@dataclass
class TuningConfig:
    """In-report hyperparameter search with Optuna over `model.search_space`."""

    enabled: bool = False
    sampler: str = "tpe"  # tpe | random | grid
    n_trials: int = 30
    timeout: Optional[float] = None  # planned seconds for the search and the refit (from the data's shape): fewer trials
    cv: int = 3  # cross-validation folds on the training data
    scoring: Optional[str] = None  # a scikit-learn scorer name; null: roc_auc, accuracy or neg RMSE by task
    seed: Optional[int] = None  # defaults to the top-level seed
    storage: Optional[str] = None  # an Optuna storage URL (e.g. sqlite:///study.db) to share one study
    study_name: Optional[str] = None
    grid_points: int = 3  # values per numeric parameter for the grid sampler
    max_rows: Optional[int] = 20000  # the search cross-validates on a seeded sample of this many training rows


@dataclass
class StackingConfig:
    final_estimator: str = "logistic"  # logistic | lightgbm (classification); ridge for regression
    cv: int = 5  # folds for the out-of-fold predictions the meta-model learns from
    passthrough: bool = False  # also give the meta-model the numeric input columns
    max_rows: Optional[int] = 50000  # out-of-fold predictions on a seeded sample of this many training rows (null: all)
    max_seconds: Optional[float] = 20.0  # left out (with a note) when its folds' fits are planned longer (null: no limit)


@dataclass
class BaseEnsembleConfig:
    base: str = "logistic"  # a model config name
    n_estimators: int = 10


@dataclass
class EnsembleConfig:
    """Ensembles of model configs by name; every ensemble is a candidate on the leaderboard."""

    enabled: bool = False
    members: List[str] = field(default_factory=list)
    methods: List[str] = field(default_factory=list)  # soft_voting hard_voting stacking bagging boosting ...
    weights: Optional[List[float]] = None  # voting weights, one per member
    max_rows: Optional[int] = 200000  # members and bagging/boosting fitted here use a seeded sample of this many
    # training rows (null: all); the configured model, when a member, keeps its fit on every row
    stacking: StackingConfig = field(default_factory=StackingConfig)
    bagging: BaseEnsembleConfig = field(default_factory=BaseEnsembleConfig)
    boosting: BaseEnsembleConfig = field(default_factory=lambda: BaseEnsembleConfig(n_estimators=50))


@dataclass
class CompareConfig:
    """compare.baseline: a previous run's folder (its predictions.parquet) or a predictions file (key, y_true,
    y_pred, score_<label> columns) to compare this run's model with, row by row."""

    baseline: Optional[str] = None
    key: Optional[str] = None  # the baseline file's key column; null: data.id, else "row"
    # other fitted models (files, as model.path takes them) in the same report: the leaderboard ranks them with the
    # model on the same rows; without compare.baseline the comparison section compares the model with the first
    models: List[str] = field(default_factory=list)


@dataclass
class CardConfig:
    """What people write into MODEL_CARD.md (report.formats=[..., model_card]); the rest comes from the run."""

    intended_use: str = ""
    out_of_scope_use: str = ""
    authors: str = ""
    license: Optional[str] = None  # a license identifier, e.g. mit, apache-2.0


@dataclass
class TrackingConfig:
    """Where each run is also logged (tracking=mlflow): an MLflow tracking store or server."""

    kind: str = "none"  # none | mlflow
    uri: Optional[str] = None  # e.g. sqlite:///mlflow.db or http://HOST:5000; null: MLFLOW_TRACKING_URI or MLflow's default
    experiment: str = "postreport"
    run_name: Optional[str] = None  # null: "<model> on <data>" (a sweep's parent: "sweep <folder>")
    tags: Dict[str, str] = field(default_factory=dict)


@dataclass
class BudgetConfig:
    """How deep a run goes, planned from the data's shape before any work (postreport.planning.plan), never from a clock."""

    profile: str = "default"  # quick | default | thorough: scales the plan; settings given explicitly win
    max_seconds: Optional[float] = None  # wall-clock safety net: steps still running past it are cut (null: none)
    out_of_fold_seconds: Optional[float] = 20.0  # planned seconds for the configured model's out-of-fold fits


@dataclass
class PostreportConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    analyses: Any = None  # one field per registered analysis (see analyses_schema)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    gates: Dict[str, Any] = field(default_factory=dict)  # name -> {min, max, on}: postreport/gates.py checks them
    # a gate that could not be evaluated (its section cut, skipped or failed): fail (exit 3) | warn | null: fail
    # when report.formats makes a CI output (junit, markdown), else warn
    gates_unevaluated: Optional[str] = None
    card: CardConfig = field(default_factory=CardConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    dry_run: bool = False  # print the plan and exit 0, without fitting or writing a report
    # cross-validation instead of a held-out test set: a number of folds (stratified for classes, shuffled with the
    # seed) over every row of the data; postreport.evaluate(cv=...) also hands over a scikit-learn splitter
    cv: Any = None
    seed: int = 0
    n_jobs: int = -1


def analyses_schema() -> type:
    """A dataclass with one field per registered analysis: its Settings, with their defaults."""
    fields = []
    for name, cls in registry.load_all().items():
        settings = getattr(cls, "Settings", None) or NoSettings
        fields.append((name, settings, field(default_factory=settings)))
    return make_dataclass("AnalysesConfig", fields)


def register_schemas() -> None:
    analyses = analyses_schema()
    schema = make_dataclass("PostreportSchema", [("analyses", analyses, field(default_factory=analyses))],
                            bases=(PostreportConfig,))
    ConfigStore.instance().store(name="postreport_schema", node=schema)
