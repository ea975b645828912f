"""Every formula that several sections share, once, tested on arrays: the metrics table and its functions
(metrics.py, labels as indices: encoding.py), bootstrap intervals (bootstrap.py), the percentile interval and the
too-few-resamples rule (intervals.py), metrics from counts (counts.py), paired tests between models (paired.py),
proportions' intervals, calibration's bins and recalibration, curves, drift tests, label-free estimates, groups of
rows and weak segments (segments.py), ranks and the rank form of ROC AUC, and seeded samples (sampling.py)."""
