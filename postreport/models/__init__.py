"""The candidates a report is about: built from a config's `_target_` or loaded from a file (build.py; loaded.py:
what a loaded model shares with scikit-learn's estimators; onnx_model.py: ONNX through onnxruntime), ensembles
declared in YAML (ensembles.py), the Optuna search (tuning.py), out-of-fold predictions (out_of_fold.py) and
column names LightGBM accepts (safe_names.py). A new model kind is one loader in build.py."""
