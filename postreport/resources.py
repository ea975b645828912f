"""Where the package's conf/ and templates/ folders are (no import beyond the standard library: the command's
help reads them before anything heavy loads)."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """conf/ or templates/: inside the package when installed from a wheel, beside it in a checkout."""
    for candidate in (_HERE / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"postreport's {name}/ folder is missing from the installation")
