"""What postreport does with other tools and over many runs: MLflow tracking (tracking.py), Hydra multirun sweeps
summarised in a report (sweep.py), the dashboard over run folders (dashboard.py) and the README's example files
(examples.py)."""
