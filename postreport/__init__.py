"""postreport: declarative post-training model reports (HTML, PDF, metrics.json).

    import postreport
    result = postreport.generate(["data=wine"], output_dir="reports/wine")   # see postreport/api.py
"""

from postreport.version import __version__
__all__ = ["generate", "evaluate", "compare", "from_predictions", "RunResult", "UserError", "__version__"]


def __getattr__(name):  # imported on first use: `import postreport` stays instant
    if name in ("generate", "evaluate", "compare", "from_predictions"):
        from postreport import api

        return getattr(api, name)
    if name == "RunResult":
        from postreport.run.runner import RunResult

        return RunResult
    if name == "UserError":
        from postreport.errors import UserError

        return UserError
    raise AttributeError(f"module 'postreport' has no attribute {name!r}")
