"""metrics.json, from the analyses' results (never from the HTML)."""
from __future__ import annotations

import json
import math

import numpy as np


def metrics_document(ctx, outcomes, gates=()) -> dict:
    """From settled outcomes: a section's payload is in `results` only when its status is ok."""
    done = [o for o in outcomes if o.status == "ok"]
    metrics = next((dict(o.result.values) for o in done if o.name == "metrics"), {})
    return jsonable({
        "task": ctx.data.task,
        "model": {"name": ctx.model.name},
        "gates": [g.to_json() for g in gates],
        "n_train": ctx.data.n_train,
        "n_test": ctx.data.n_test,
        **({"aggregation": ctx.data.aggregation.to_json()} if ctx.data.aggregation is not None else {}),
        "metrics": metrics,
        "results": {o.name: o.result.to_json() for o in done},
        "sections": [{"name": o.name, "status": o.status, "error": o.error,
                      "seconds": None if o.seconds is None else round(o.seconds, 4)} for o in outcomes],
        **({"plan": ctx.plan.to_json()} if getattr(ctx, "plan", None) is not None else {}),
    })


TIMING_KEYS = {"seconds", "fit_seconds", "predict_seconds", "duration", "elapsed", "measured_seconds"}


def without_timings(value):
    """metrics.json without its measured durations: what the same config and data must reproduce exactly, on a busy
    machine or a quiet one."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def jsonable(value):
    """Plain JSON types: numpy scalars and arrays converted, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
