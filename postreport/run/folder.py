"""The run's output folder, claimed before any work: one run at a time writes into it (a lock file naming the run
that holds it), the hidden staging files an interrupted run left there are removed, and a folder that cannot be
written is a clear error, not a traceback after the work is done."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

from postreport.errors import UserError

log = logging.getLogger("postreport")
LOCK = ".postreport.lock"


class Claim:
    """Holds the folder's lock (an advisory `flock` on LOCK) until released; the lock dies with the process."""

    def __init__(self, folder: Path, fd: Optional[int]):
        self.folder, self.fd = folder, fd

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            (self.folder / LOCK).unlink(missing_ok=True)
        finally:
            os.close(self.fd)
            self.fd = None


def claim(folder: Path, staged_names) -> Claim:
    """Lock `folder` for this run (exit 2 naming the run that holds it), then remove the hidden `.NAME.*.tmp`
    files of an earlier run that was killed while writing (no other run can be writing them now)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(f"cannot write into the output folder {folder}: {exc.strerror}; choose another folder with "
                        "hydra.run.dir=...") from None
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock, the rest as usual
        return Claim(folder, fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise UserError(f"another postreport run ({holder}) is writing into {folder}; wait for it to end or choose "
                        "another folder with hydra.run.dir=...") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
    for name in staged_names:
        for stale in folder.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
            log.info("removed %s: a file an interrupted run was writing", stale)
    return Claim(folder, fd)


def unwritable(argv: list) -> Optional[str]:
    """Before Hydra starts: the folder the run would write into (hydra.run.dir, or hydra.sweep.dir for -m; else
    Hydra's default under the current folder) when it cannot be created or written, as one line."""
    multirun = any(a in ("-m", "--multirun") for a in argv)
    key = "hydra.sweep.dir=" if multirun else "hydra.run.dir="
    given = next((a[len(key):] for a in argv if a.startswith(key)), None)
    writes_nothing = {"-h", "--help", "--hydra-help", "-c", "--cfg", "-i", "--info", "-sc", "--shell-completion"}
    if any(a.split("=", 1)[0] in writes_nothing for a in argv):
        return None
    if given is None and any(a.startswith(("--config-dir", "-cd", "--config-path", "-cp")) for a in argv):
        return None  # a user's config may set the folder: Hydra's own error then
    wanted = Path((given or ("multirun" if multirun else "outputs")).split("${", 1)[0].strip("'\"") or ".")
    existing = wanted.expanduser().absolute()
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return None
    what = "is not a folder" if existing.exists() and not existing.is_dir() else "cannot be written (read-only)"
    return (f"the output folder {wanted} cannot be made: {existing} {what}; choose a writable folder with "
            f"{key}...")


STAGED_RECORD = ".hydra.next"  # hydra.output_subdir (conf/config.yaml): where Hydra writes its record of a run
RECORD = ".hydra"


def promote_record(folder: Path, staged: Optional[str], report_written: bool) -> None:
    """Hydra's record of this run (written into `staged` before the run) becomes the folder's .hydra/ once the
    report files are written, each file replaced whole, so .hydra/ never describes a run whose report is not there;
    a run stopped on bad input promotes it only into a folder without an earlier report (README: .hydra/ is written
    then too). A user's own hydra.output_subdir is left as Hydra wrote it."""
    from postreport.data.run_files import METRICS  # here: the command's --help imports this module, not the data

    folder = Path(folder)
    if staged != STAGED_RECORD or not (folder / staged).is_dir():
        return
    if not report_written and (folder / METRICS).is_file():
        return  # the earlier report stays, and with it the record that describes it
    target = folder / RECORD
    try:
        target.mkdir(exist_ok=True)
        for path in (folder / staged).iterdir():
            os.replace(path, target / path.name)
        (folder / staged).rmdir()
    except OSError as exc:
        log.warning("Hydra's record of the run stays in %s: %s", folder / staged, exc)
