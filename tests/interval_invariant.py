"""The invariant every report keeps: no point estimate lies outside its own interval. Walks a metrics.json payload
for each `<name>` beside `<name>_ci` (and `value` / `difference` beside `ci`), numbers or dictionaries of them."""
from __future__ import annotations

import json
import math
from pathlib import Path

TOLERANCE = 1e-9
POINT_OF_CI = ("value", "difference", "estimate", "delta")  # the point beside a bare `ci`, where one is given


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _interval(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) for v in value)


def _check(point, interval, where: str, out: list) -> None:
    if isinstance(point, dict) and isinstance(interval, dict):
        for key, value in point.items():
            if key in interval:
                _check(value, interval[key], f"{where}[{key!r}]", out)
    elif _number(point) and _interval(interval):
        low, high = interval
        if not low - TOLERANCE <= point <= high + TOLERANCE:
            out.append(f"{where}: {point!r} outside [{low!r}, {high!r}]")


def outside(payload, where: str = "") -> list:
    """Every point estimate outside its interval, as 'path: value outside [low, high]'."""
    out: list = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key.endswith("_ci") and key[:-3] in payload:
                _check(payload[key[:-3]], value, f"{where}.{key[:-3]}", out)
            elif key == "ci":
                point = next((payload[k] for k in POINT_OF_CI if k in payload), None)
                _check(point, value, f"{where}.ci", out)
            out += outside(value, f"{where}.{key}")
    elif isinstance(payload, list):
        for i, value in enumerate(payload):
            out += outside(value, f"{where}[{i}]")
    return out


def outside_in_files(folder: Path) -> list:
    """outside() over every metrics.json (and sweep.json) under a folder, each line naming its file."""
    found = []
    for path in sorted([*Path(folder).rglob("metrics.json"), *Path(folder).rglob("sweep.json")]):
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a file a test wrote broken on purpose
        found += [f"{path}: {line}" for line in outside(payload)]
    return found
