"""The pipeline, one step after another: `runner.run(cfg) -> RunResult` takes a composed config through data,
candidates, predictions (predictions.py, once per candidate), the analyses (context.py: what each may read, its
Outcome, the run's clock), gates (gates.py), comparison with a previous run (baseline.py) and the report's files,
written as a set (atomic.py) into an output folder one run holds at a time (folder.py)."""
