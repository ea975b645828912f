"""Figures drawn while the analyses run. Drawing a report's figures with matplotlib takes seconds (about 6 s for the
default report's 20), so one worker process, forked at the start of the run before any thread exists, draws each
section's figures as soon as the section is computed. When the analyses end, this process draws the figures the
worker has not started (from the last one back), so that both cores draw. Where a process cannot be forked (no
fork, one core, a daemonic process) every figure is drawn here, as before."""
from __future__ import annotations

import logging
import os
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool

from .model import Figure

log = logging.getLogger("postreport")


def data_uri(spec) -> str:
    """The figure drawn as SVG, as the data URI the HTML and the PDF embed."""
    import base64

    from .render_svg import draw_svg

    return "data:image/svg+xml;base64," + base64.b64encode(draw_svg(spec).encode("utf-8")).decode("ascii")


def _warm() -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.figure  # noqa: F401  (about a second on a cold start)


class FigurePool:
    def __init__(self, enabled: bool = True):
        self.executor = None
        self.futures: dict = {}  # id(figure item) -> Future of its data URI
        if not enabled or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
            return
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self.executor.submit(_warm)  # forks now, while this process is still small and has no other thread
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
                    self.futures[id(item)] = self.executor.submit(data_uri, item.spec)
                except Exception as exc:  # a broken pool: the rest is drawn here
                    log.debug("figure worker unavailable: %s", exc)
                    return

    def settle(self, outcomes: list) -> dict:
        """Every figure of the sections that are ok, as {id(item): data URI}. A figure that cannot be drawn fails its
        section (before anything is written); the others stay."""
        figures: dict = {}
        ok = [o for o in outcomes if o.status == "ok"]
        # draw here, from the last figure back, what the worker has not started
        for outcome in reversed(ok):
            for item in reversed(outcome.items):
                if isinstance(item, Figure):
                    future = self.futures.get(id(item))
                    if future is None or future.cancel():
                        self._draw(outcome, item, figures, local=True)
        for outcome in ok:
            for item in outcome.items:
                if isinstance(item, Figure) and id(item) not in figures and outcome.status == "ok":
                    self._draw(outcome, item, figures, local=False)
        self.close()
        return figures

    def _draw(self, outcome, item, figures: dict, local: bool) -> None:
        import traceback

        if outcome.status != "ok":
            return
        try:
            if not local:
                try:
                    figures[id(item)] = self.futures[id(item)].result()
                    return
                except (BrokenProcessPool, CancelledError):  # the worker died: draw here
                    pass
            figures[id(item)] = data_uri(item.spec)
        except Exception as exc:
            outcome.fail(exc)
            log.error("figures of %s failed: %s\n%s", outcome.name, outcome.error, traceback.format_exc())

    def close(self) -> None:
        """Stop the worker (it exits at once: every figure was collected, or the run failed)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
