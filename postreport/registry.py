"""The one place that knows every analysis: the entry-point group `postreport.analyses`.

Built-in analyses register there exactly as third-party ones do (see pyproject.toml), so adding an
analysis is one module plus its entry point, and no edit elsewhere.
"""
from __future__ import annotations

import functools
import logging
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points

from omegaconf import OmegaConf

from postreport.errors import UserError

GROUP = "postreport.analyses"
log = logging.getLogger("postreport")


def available() -> dict:
    return _scan(tuple(sys.path))


@functools.lru_cache(maxsize=8)
def _scan(path: tuple) -> dict:
    """The group's entry points on this import path: scanning every installed distribution costs ~0.1 s, and a
    run asks once per analysis (a changed sys.path scans again)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def get(name: str):
    """The analysis class registered under `name`."""
    eps = available()
    if name not in eps:
        raise UserError(f"unknown analysis {name!r} in report.analyses; valid: {', '.join(sorted(eps))}")
    try:
        return eps[name].load()
    except Exception as exc:
        raise UserError(f"analysis {name!r} ({eps[name].value}) cannot be imported: {exc}") from None


def load_all() -> dict:
    """name -> analysis class, for every registered analysis that imports (a broken one is left out here and named
    by `get` when a report asks for it)."""
    classes = {}
    for name, ep in sorted(available().items()):
        try:
            classes[name] = ep.load()
        except Exception as exc:
            log.warning("analysis %r (%s) cannot be imported: %s", name, ep.value, exc)
    return classes


@dataclass
class NoSettings:
    """The settings of an analysis that has none."""


def settings_for(name: str, cls, node):
    """The analysis's Settings object from its `analyses.<name>` node. The schema typed the node at composition;
    merging again catches what composition lets through (a key added with `+`, a plugin whose settings were not in
    the schema)."""
    schema = OmegaConf.structured(getattr(cls, "Settings", None) or NoSettings)
    unknown = sorted(set(node or {}) - set(schema.keys()))
    if unknown:
        raise UserError(f"analyses.{name}.{unknown[0]} is not a setting of {name}; valid keys: {list(schema.keys())}")
    try:
        merged = OmegaConf.merge(schema, node or {})
    except Exception as exc:  # omegaconf's ValidationError / ConfigKeyError name the key
        raise UserError(f"analyses.{name}: {exc}".split("\n")[0] + f"; valid keys: {list(schema.keys())}") from None
    return OmegaConf.to_object(merged)
