"""The report model, how it is built from results, and its renderers (HTML, PDF, JSON)."""
