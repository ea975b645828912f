"""Objects a Python caller hands to a run without a file (postreport.evaluate): a DataFrame or a fitted estimator,
named by a key "memory:<what>-<n>" that the config carries where a path would be (data.path, data.test_path,
model.path). They live in this process only, for the run: `holding` releases them when it ends."""
from __future__ import annotations

import hashlib
import itertools
import threading
from contextlib import contextmanager

import pandas as pd

from postreport.errors import UserError

PREFIX = "memory:"
_HELD: dict = {}
_COUNT = itertools.count(1)
_LOCK = threading.Lock()


def is_held(path) -> bool:
    return isinstance(path, str) and path.startswith(PREFIX)


def held(key: str, setting: str):
    """The object held under `key`; setting: the config key that named it (for the error)."""
    try:
        return _HELD[key]
    except KeyError:
        raise UserError(f"{setting}={key!r}: nothing is held under this name in this process (such a name is made "
                        "by postreport.evaluate for the objects it is given; give a file's path here)") from None


def held_name(key: str) -> str:
    """The name an object was held under (the key without its prefix and number)."""
    return key[len(PREFIX):].rsplit("-", 1)[0]


@contextmanager
def holding(**objects):
    """Hold each object for the block: yields {name: key} (None stays None). A name may be any text (quote the key
    in an override)."""
    with _LOCK:
        keys = {name: None if obj is None else f"{PREFIX}{name}-{next(_COUNT)}" for name, obj in objects.items()}
        _HELD.update({keys[name]: obj for name, obj in objects.items() if obj is not None})
    try:
        yield keys
    finally:
        with _LOCK:
            for key in keys.values():
                _HELD.pop(key, None)


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's values and column names (where a file's bytes would be hashed)."""
    h = hashlib.sha256(repr([str(c) for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()
