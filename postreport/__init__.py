"""postreport: declarative post-training model reports (HTML, PDF, metrics.json)."""

__version__ = "0.1.0"
