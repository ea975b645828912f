"""Statistics that several sections share, tested on arrays: percentile intervals of resamples, proportions'
intervals, calibration's bins and recalibration, groups of rows by a column's values, ranks and the rank form of
ROC AUC."""
