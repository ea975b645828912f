"""Baseline for bench_evaluation.py: what a data scientist writes by hand for logged binary predictions:
point metrics, confusion matrix, ROC and PR curves with scikit-learn, drawn with matplotlib."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn.metrics as skm  # noqa: E402

path, out = sys.argv[1:3]
frame = pd.read_parquet(path)
y, score = frame["y_true"].to_numpy(), frame["score"].to_numpy()
pred = (score >= 0.5).astype(int)
metrics = {
    "accuracy": skm.accuracy_score(y, pred), "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
    "precision": skm.precision_score(y, pred), "recall": skm.recall_score(y, pred), "f1": skm.f1_score(y, pred),
    "roc_auc": skm.roc_auc_score(y, score), "average_precision": skm.average_precision_score(y, score),
    "log_loss": skm.log_loss(y, score), "brier": skm.brier_score_loss(y, score), "mcc": skm.matthews_corrcoef(y, pred),
}
cm = skm.confusion_matrix(y, pred)
fpr, tpr, _ = skm.roc_curve(y, score)
precision, recall, _ = skm.precision_recall_curve(y, score)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
skm.ConfusionMatrixDisplay(cm).plot(ax=axes[0])
axes[1].plot(fpr, tpr)
axes[2].plot(recall, precision)
fig.savefig(f"{out}/figures.svg")
with open(f"{out}/metrics.json", "w") as fh:
    json.dump({"metrics": metrics, "confusion_matrix": cm.tolist()}, fh)
