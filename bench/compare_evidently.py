"""Our PSI and Jensen-Shannon distance against Evidently's, where the two definitions match (issue 27).

Evidently (0.7, `evidently.legacy.calculations.stattests`) bins a numeric column with more than 20 values on
Sturges' edges of the pooled reference and current values; we bin on the reference's deciles (a PSI that does not
move when the current data does). On the same bins the numbers must agree: so the numeric comparison hands our
functions Evidently's bins. Categories are binned the same way by both (each value a bin). Evidently replaces empty
shares by 1e-4 (PSI; ours floors every share at 1e-4, the same unless a share is below 1e-4), and its Jensen-Shannon
distance is in natural-log units (ours base 2: ours = theirs / sqrt(ln 2)).

Evidently pins an older pandas, so it runs in its own environment, with this repository on the path (the statistics
module imports numpy and scipy only):

    python -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install evidently 'pandas<2.3' scipy
    /tmp/evvenv/bin/python bench/compare_evidently.py
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from postreport.stats import drift as st  # noqa: E402


def main() -> None:
    from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.core import ColumnType

    rng = np.random.default_rng(0)
    rows = []
    for shift in (0.0, 0.1, 0.3):
        ref, cur = pd.Series(rng.normal(0, 1, 20_000)), pd.Series(rng.normal(shift, 1, 15_000))
        edges = np.histogram_bin_edges(np.r_[ref, cur], bins="sturges")  # Evidently's bins for a number
        r_counts, c_counts = np.histogram(ref, edges)[0], np.histogram(cur, edges)[0]
        theirs_psi = _psi(ref, cur, ColumnType.Numerical, 0.1)[0]
        theirs_js = _jensenshannon(ref, cur, ColumnType.Numerical, 0.1)[0]
        tiny = sum(int(np.sum((c > 0) & (c / c.sum() < 1e-4))) for c in (r_counts, c_counts))
        rows.append((f"numeric, mean shift {shift} sd, Evidently's bins ({tiny} bin shares in (0, 1e-4))", theirs_psi,
                     st.psi(r_counts, c_counts),
                     theirs_js, st.jensen_shannon(r_counts, c_counts) * math.sqrt(math.log(2))))
        deciles = st.decile_edges(ref.to_numpy(), 10)
        rows.append((f"numeric, mean shift {shift} sd, our deciles (not comparable)", None,
                     st.psi(st.binned(ref.to_numpy(), deciles), st.binned(cur.to_numpy(), deciles)), None, None))
    for mix in ([0.5, 0.3, 0.2], [0.4, 0.35, 0.25], [0.2, 0.3, 0.5]):
        ref = pd.Series(rng.choice(["basic", "pro", "team"], 20_000, p=[0.5, 0.3, 0.2]))
        cur = pd.Series(rng.choice(["basic", "pro", "team"], 15_000, p=mix))
        levels = sorted(set(ref) | set(cur))
        r_counts = ref.value_counts().reindex(levels, fill_value=0).to_numpy(float)
        c_counts = cur.value_counts().reindex(levels, fill_value=0).to_numpy(float)
        rows.append((f"categorical, mix {mix}", _psi(ref, cur, ColumnType.Categorical, 0.1)[0],
                     st.psi(r_counts, c_counts), _jensenshannon(ref, cur, ColumnType.Categorical, 0.1)[0],
                     st.jensen_shannon(r_counts, c_counts) * math.sqrt(math.log(2))))
    print("| column | PSI (Evidently) | PSI (ours) | JS, natural log (Evidently) | JS (ours, converted) |")
    print("|---|---:|---:|---:|---:|")
    fmt = lambda v: "" if v is None else f"{v:.6f}"  # noqa: E731
    worst = 0.0
    for name, a, b, c, d in rows:
        print(f"| {name} | {fmt(a)} | {fmt(b)} | {fmt(c)} | {fmt(d)} |")
        for x, y in ((a, b), (c, d)):
            if x is not None and y is not None:
                worst = max(worst, abs(x - y))
    print(f"\nlargest difference where the definitions match: {worst:.2e}")


if __name__ == "__main__":
    main()
