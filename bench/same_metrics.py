"""Issue 38's check for a move that must change no number: the default report's metrics.json (times aside) from the
working tree against one from a commit, each made in its own clean checkout.

    python bench/same_metrics.py [COMMIT=HEAD] [-- overrides...]
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from postreport.report.render_json import without_timings  # noqa: E402  (the working tree's: the contract's rule)


def metrics(source: Path, out: Path, overrides: list) -> dict:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "PYTHONPATH": str(source)}
    subprocess.run([sys.executable, "-m", "postreport.cli", *overrides, f"hydra.run.dir={out}"], cwd=source, env=env,
                   check=True, capture_output=True)
    document = without_timings(json.loads((out / "metrics.json").read_text()))
    document.pop("version", None)
    return document


def main() -> None:
    args = sys.argv[1:]
    commit = args.pop(0) if args and args[0] != "--" else "HEAD"
    overrides = args[1:] if args[:1] == ["--"] else []
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), commit], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            before = metrics(old, Path(tmp) / "before", overrides)
            after = metrics(ROOT, Path(tmp) / "after", overrides)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, capture_output=True)
    if before == after:
        print(f"same metrics.json as {commit} (times aside)")
        return
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            print(f"differs: {key}\n  before: {json.dumps(before.get(key))[:2000]}\n  after:  "
                  f"{json.dumps(after.get(key))[:2000]}")
    sys.exit(1)


if __name__ == "__main__":
    main()
