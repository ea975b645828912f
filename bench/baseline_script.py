"""The baseline a data scientist would write by hand: load a saved LightGBM model and a saved test set,
compute the same metrics and the confusion matrix with scikit-learn, draw it with matplotlib, save JSON + SVG."""
import json
import sys

import lightgbm
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn.metrics as skm  # noqa: E402

model_path, test_path, out = sys.argv[1:4]
test = pd.read_csv(test_path)
y = test.pop("target").to_numpy()
booster = lightgbm.Booster(model_file=model_path)
score = booster.predict(test)
pred = (score >= 0.5).astype(int)
metrics = {
    "accuracy": skm.accuracy_score(y, pred),
    "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
    "precision": skm.precision_score(y, pred),
    "recall": skm.recall_score(y, pred),
    "f1": skm.f1_score(y, pred),
    "roc_auc": skm.roc_auc_score(y, score),
    "average_precision": skm.average_precision_score(y, score),
    "log_loss": skm.log_loss(y, np.column_stack([1 - score, score])),
    "brier": skm.brier_score_loss(y, score),
    "mcc": skm.matthews_corrcoef(y, pred),
}
cm = skm.confusion_matrix(y, pred)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
skm.ConfusionMatrixDisplay(cm).plot(ax=axes[0])
skm.ConfusionMatrixDisplay(cm / cm.sum(axis=1, keepdims=True)).plot(ax=axes[1])
fig.savefig(f"{out}/confusion.svg")
with open(f"{out}/metrics.json", "w") as fh:
    json.dump({"metrics": metrics, "confusion_matrix": cm.tolist()}, fh)
