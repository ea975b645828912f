"""Figures drawn in a worker process while the analyses run (postreport.report.figure_pool): the same figures as
drawn in the run's own process, and a worker that dies costs no figure."""
import os
import re
import signal

import pytest

from conftest import run_report
from postreport.report import figure_pool

OVERRIDES = ["data=wine", "report.analyses=[per_class,confusion_matrix,curves,calibration]"]


def figures_in(out) -> list:
    return re.findall(r'src="(data:image/svg\+xml;charset=utf-8,[^"]+)"', (out / "report.html").read_text())


@pytest.fixture
def submitted(monkeypatch):
    """The pools the run makes, recorded after each submit."""
    pools = []
    original = figure_pool.FigurePool.submit

    def submit(self, items):
        original(self, items)
        pools.append(self)

    monkeypatch.setattr(figure_pool.FigurePool, "submit", submit)
    return pools


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the figure worker is forked")
def test_figures_drawn_in_the_worker_equal_those_drawn_here(tmp_path, monkeypatch, submitted):
    monkeypatch.setattr(figure_pool, "available_cores", lambda: 2)  # a worker, whatever this test process may use
    _, out = run_report(tmp_path / "pool", OVERRIDES, formats=("html",))
    futures = [f for pool in submitted for f in pool.futures.values()]
    assert futures and any(f.done() and not f.cancelled() for f in futures)  # the worker drew some
    monkeypatch.setattr(figure_pool, "available_cores", lambda: 1)  # no worker: every figure drawn here
    _, here = run_report(tmp_path / "here", OVERRIDES, formats=("html",))
    assert len(figures_in(out)) >= 4
    assert figures_in(out) == figures_in(here)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the figure worker is forked")
def test_a_worker_that_dies_costs_no_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(figure_pool, "available_cores", lambda: 2)
    original = figure_pool.FigurePool.submit

    killed = []

    def submit_then_kill(self, items):
        original(self, items)
        if self.executor is not None and not killed:
            killed.extend(p.pid for p in self.executor._processes.values())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    monkeypatch.setattr(figure_pool.FigurePool, "submit", submit_then_kill)
    result, out = run_report(tmp_path / "killed", OVERRIDES, formats=("html",))
    assert killed and result.exit_code == 0 and all(o.status == "ok" for o in result.outcomes)
    monkeypatch.setattr(figure_pool.FigurePool, "submit", original)
    monkeypatch.setattr(figure_pool, "available_cores", lambda: 1)
    _, here = run_report(tmp_path / "here", OVERRIDES, formats=("html",))
    assert figures_in(out) == figures_in(here)
