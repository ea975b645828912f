"""Figures drawn while the analyses run. Drawing a report's figures with matplotlib takes seconds (about 6 s for the
default report's 20), so one worker process, forked at the start of the run before any thread exists, draws each
section's figures as soon as the section is computed. When the analyses end, this process draws the figures the
worker has not started (from the last one back), so that both cores draw. Where a process cannot be forked (no
fork, one core, a daemonic process) every figure is drawn here, as before."""
from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from urllib.parse import quote, unquote

from postreport.planning.threads import available_cores
from postreport.report.model import Figure
from postreport.report.render_plotly import figure_json
from postreport.report.render_svg import draw_svg

log = logging.getLogger("postreport")


SVG_URI = "data:image/svg+xml;charset=utf-8,"
URI_SAFE = " !$&'()*+,-./:;=?@_~"  # left as they are in the URI: never a quote, #, %, < or >


def data_uri(spec) -> str:
    """The figure drawn as SVG, as the data URI the HTML and the PDF embed: percent-encoded, not base64 (SVG is
    text: a third smaller; report.html 2.54 -> 2.42 MB)."""
    return SVG_URI + quote(draw_svg(spec), safe=URI_SAFE)


def svg_of(uri: str) -> str:
    """The SVG text of a figure's data URI (tests, and anyone reading report.html back)."""
    return unquote(uri[len(SVG_URI):]) if uri.startswith(SVG_URI) else ""


def draw(spec, interactive: bool) -> tuple:
    """(SVG data URI, Plotly figure JSON or None). The interactive figure is an extra: when it cannot be built, the
    report keeps the static one."""
    plot = None
    if interactive:
        try:
            plot = figure_json(spec)
        except Exception as exc:
            log.warning("the interactive version of a %s figure could not be built (%s: %s); report.html shows it "
                        "static", type(spec).__name__, type(exc).__name__, exc)
    return data_uri(spec), plot


def die_with_parent(parent: int) -> None:
    """In a worker: end when the run's process ends, however it ends (SIGKILL included), never left behind as an
    orphan. Linux: the kernel's parent-death signal; elsewhere a thread that checks the parent every second."""
    if sys.platform.startswith("linux"):
        try:
            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="postreport-parent-watch", daemon=True).start()


def _warm(interactive: bool) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.figure  # noqa: F401  (about a second on a cold start)

    if interactive:
        import plotly.graph_objects  # noqa: F401


class FigurePool:
    def __init__(self, enabled: bool = True, interactive: bool = False):
        self.executor = None
        self.interactive = interactive
        self.futures: dict = {}  # id(figure item) -> Future of (data URI, plot JSON)
        if not enabled or not hasattr(os, "fork") or available_cores() < 2:  # the cores this process may use
            return
        try:
            self.executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                                initializer=die_with_parent, initargs=(os.getpid(),))
            self.executor.submit(_warm, interactive)  # forks now, while this process is still small and has no other thread
        except Exception as exc:  # e.g. a daemonic process may not have children: draw here
            log.debug("figures are drawn in this process: %s", exc)
            self.close()

    def submit(self, items: list) -> None:
        """Start drawing the figures among a section's items in the worker."""
        if self.executor is None:
            return
        for item in items:
            if isinstance(item, Figure) and id(item) not in self.futures:
                try:
                    self.futures[id(item)] = self.executor.submit(draw, item.spec, self.interactive)
                except Exception as exc:  # a broken pool: the rest is drawn here
                    log.debug("figure worker unavailable: %s", exc)
                    return

    def settle(self, outcomes: list) -> tuple:
        """Every figure of the sections that are ok, as ({id(item): data URI}, {id(item): plot JSON}, or None when
        the page is static). A figure that cannot be drawn fails its section (before anything is written); the
        others stay."""
        figures: dict = {}
        plots: dict = {}
        ok = [o for o in outcomes if o.status == "ok"]
        # draw here, from the last figure back, what the worker has not started
        for outcome in reversed(ok):
            for item in reversed(outcome.items):
                if isinstance(item, Figure):
                    future = self.futures.get(id(item))
                    if future is None or future.cancel():
                        self._draw(outcome, item, figures, plots, local=True)
        for outcome in ok:
            for item in outcome.items:
                if isinstance(item, Figure) and id(item) not in figures and outcome.status == "ok":
                    self._draw(outcome, item, figures, plots, local=False)
        self.close()
        return figures, (plots if self.interactive else None)

    def _draw(self, outcome, item, figures: dict, plots: dict, local: bool) -> None:
        if outcome.status != "ok":
            return
        try:
            drawn = None
            if not local:
                try:
                    drawn = self.futures[id(item)].result()
                except (BrokenProcessPool, CancelledError):  # the worker died: draw here
                    pass
            figures[id(item)], plot = drawn or draw(item.spec, self.interactive)
            if plot is not None:
                plots[id(item)] = plot
        except Exception as exc:
            outcome.fail(exc)
            log.error("figures of %s failed: %s\n%s", outcome.name, outcome.error, traceback.format_exc())

    def close(self) -> None:
        """Stop the worker (it exits at once: every figure was collected, or the run failed)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
