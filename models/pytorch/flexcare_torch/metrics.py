"""The paper's validation scores per task kind (the reference code's `my_metrics`)."""
from __future__ import annotations

from typing import Dict

import numpy as np
from sklearn import metrics

# Names of the two scores of each kind; the checkpoint score is their sum over tasks.
SCORE_NAMES = {
    "binary": ("auroc", "auprc"),
    "multilabel": ("macro_auroc", "micro_auroc"),
    "multiclass": ("macro_f1", "micro_f1"),
}


def _auroc(y: np.ndarray, p: np.ndarray) -> float:
    """AUROC, 0.5 when only one class is present (the reference's fallback)."""
    if len(np.unique(y)) < 2:
        return 0.5
    return float(metrics.roc_auc_score(y, p))


def task_scores(kind: str, labels: np.ndarray, probs: np.ndarray) -> Dict[str, float]:
    """labels: (n,) or (n, L) with -1 = unknown; probs: (n, L) probabilities.
    binary: AUROC and AUPRC (area under the precision-recall curve, as the reference);
    multilabel: macro and micro AUROC over known labels; multiclass: macro and micro F1."""
    if kind == "binary":
        y, p = labels.reshape(-1), probs.reshape(-1)
        if len(np.unique(y)) < 2:
            return {"auroc": 0.5, "auprc": float(y.mean()) if len(y) else 0.0}
        precision, recall, _ = metrics.precision_recall_curve(y, p)
        return {"auroc": _auroc(y, p), "auprc": float(metrics.auc(recall, precision))}
    if kind == "multilabel":
        known = labels > -1
        per_label = [_auroc(labels[known[:, j], j], probs[known[:, j], j]) for j in range(labels.shape[1])]
        return {"macro_auroc": float(np.mean(per_label)), "micro_auroc": _auroc(labels[known], probs[known])}
    if kind == "multiclass":
        y, pred = labels.reshape(-1), probs.argmax(axis=1)
        return {
            "macro_f1": float(metrics.f1_score(y, pred, average="macro")),
            "micro_f1": float(metrics.f1_score(y, pred, average="micro")),
        }
    raise ValueError(f'Unknown task kind "{kind}"')
