"""Ensemble benchmark (issue 6).

1. The default run's ensemble work on breast cancer (fitting the small ensemble: lightgbm + logistic, soft voting
   and stacking) plus the leaderboard section (target: under 10 s).
2. Members fitted once and shared (postreport) against scikit-learn's VotingClassifier and StackingClassifier, which
   each refit every member (and stacking its cross-validation folds): members lightgbm, random_forest, logistic;
   soft voting + stacking with 5 folds, on breast cancer.

    python bench/bench_ensembles.py [--repeats 3]
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def shared_fit(members_cfg, data, seed):
    from postreport.models.ensembles import PrefitStacking, PrefitVoting, out_of_fold
    from postreport.models.build import make_estimator
    from sklearn.linear_model import LogisticRegression

    fitted = []
    for mcfg in members_cfg:
        est, _, _ = make_estimator(mcfg, data.task, seed)
        fitted.append(est.fit(data.X_train, data.y_train))
    PrefitVoting(fitted, None, True, data.task)
    ctx = SimpleNamespace(data=data, seed=seed, n_jobs=-1, shared=lambda key, compute: compute())  # no cache
    oof = out_of_fold(members_cfg, ctx, 5)
    final = LogisticRegression(max_iter=2000).fit(oof, data.y_train)
    PrefitStacking(fitted, final, data.task, None, None)


def sklearn_fit(members_cfg, data, seed):
    from postreport.models.build import make_estimator
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression

    named = [(m.name, make_estimator(m, data.task, seed)[0]) for m in members_cfg]
    VotingClassifier(named, voting="soft").fit(data.X_train, data.y_train)
    named = [(m.name, make_estimator(m, data.task, seed)[0]) for m in members_cfg]
    StackingClassifier(named, final_estimator=LogisticRegression(max_iter=2000), cv=5, n_jobs=2).fit(
        data.X_train, data.y_train)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from conftest import make_cfg
    from postreport.data import load_dataset
    from postreport.models.ensembles import member_config
    from postreport.run.runner import run

    cfg = make_cfg(["report.formats=[json]"])
    out = Path(tempfile.mkdtemp(prefix="postreport-bench-ens-"))
    runs = []
    for _ in range(args.repeats):
        result = run(cfg, out)
        board = next(o.seconds for o in result.outcomes if o.name == "leaderboard")
        runs.append(result.timings["ensembles"] + board)
    data = load_dataset(cfg.data, 0)
    members = [member_config(n, -1) for n in ("lightgbm", "random_forest", "logistic")]
    timings = {}
    for name, fn in (("shared", shared_fit), ("sklearn", sklearn_fit)):
        samples = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn(members, data, 0)
            samples.append(time.perf_counter() - start)
        timings[name] = statistics.median(samples)
    print(f"default run, ensembles + leaderboard: {statistics.median(runs):.2f} s (target < 10 s)")
    print(f"soft voting + stacking over lightgbm, random_forest, logistic: members fitted once and shared "
          f"{timings['shared']:.2f} s; sklearn VotingClassifier + StackingClassifier {timings['sklearn']:.2f} s "
          f"({timings['sklearn'] / timings['shared']:.2f}x slower)")


if __name__ == "__main__":
    main()
