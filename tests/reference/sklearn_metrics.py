"""Reference metric values from scikit-learn for tests/eval/metrics_test.ts.

Reads {"cases": [{"id": str, "kind": "binary" | "multilabel" | "multiclass", ...}]} as JSON on
stdin and prints {"versions": {...}, "results": {id: {metric: value}}} on stdout. Values that
scikit-learn leaves undefined are printed as null. Run with the system interpreter
(PYENV_VERSION=system python3), which has scikit-learn and numpy from apt.
"""
import json
import math
import sys
import warnings

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    brier_score_loss,
    cohen_kappa_score,
    f1_score,
    precision_recall_curve,
    roc_auc_score,
)


def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean(v) for v in value]
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def binary(case):
    y = np.asarray(case["labels"], dtype=int)
    s = np.asarray(case["scores"], dtype=float)
    w = case.get("sample_weight")
    w = None if w is None else np.asarray(w, dtype=float)
    out = {}
    precision, recall, _ = precision_recall_curve(y, s, sample_weight=w)
    out["auprc"] = auc(recall, precision)
    out["ap"] = average_precision_score(y, s, sample_weight=w)
    out["auroc"] = roc_auc_score(y, s, sample_weight=w)
    if s.min() >= 0 and s.max() <= 1:
        out["brier"] = brier_score_loss(y, s, sample_weight=w)
        if w is None:
            prob_true, prob_pred = calibration_curve(y, s, n_bins=10, strategy="uniform")
            bins = np.linspace(0.0, 1.0, 11)
            counts = np.bincount(np.searchsorted(bins[1:-1], s), minlength=10)
            nonzero = counts[counts != 0]
            out["calibration_counts"] = counts.tolist()
            out["prob_true"] = prob_true.tolist()
            out["prob_pred"] = prob_pred.tolist()
            out["ece"] = float(np.sum(nonzero / len(s) * np.abs(prob_true - prob_pred)))
    return out


def multilabel(case):
    y = np.asarray(case["labels"], dtype=int)
    s = np.asarray(case["scores"], dtype=float)
    per_label = []
    for j in range(y.shape[1]):
        known = y[:, j] != -1
        yj = y[known, j]
        per_label.append(roc_auc_score(yj, s[known, j]) if len(np.unique(yj)) == 2 else math.nan)
    defined = [v for v in per_label if not math.isnan(v)]
    known = y != -1
    out = {
        "per_label": per_label,
        "macro": float(np.mean(defined)) if defined else math.nan,
        "micro": roc_auc_score(y[known], s[known]),
    }
    if (y != -1).all() and all(len(np.unique(y[:, j])) == 2 for j in range(y.shape[1])):
        out["macro_direct"] = roc_auc_score(y, s, average="macro")
        out["micro_direct"] = roc_auc_score(y, s, average="micro")
    return out


def multiclass(case):
    t = np.asarray(case["y_true"], dtype=int)
    p = np.asarray(case["y_pred"], dtype=int)
    w = case.get("sample_weight")
    w = None if w is None else np.asarray(w, dtype=float)
    out = {
        "f1_macro": f1_score(t, p, average="macro", zero_division=0, sample_weight=w),
        "f1_micro": f1_score(t, p, average="micro", zero_division=0, sample_weight=w),
        "accuracy": accuracy_score(t, p, sample_weight=w),
        "kappa": cohen_kappa_score(t, p, sample_weight=w),
        "kappa_linear": cohen_kappa_score(t, p, weights="linear", sample_weight=w),
        "kappa_quadratic": cohen_kappa_score(t, p, weights="quadratic", sample_weight=w),
    }
    if "labels" in case:
        labels = case["labels"]
        out["f1_macro_labels"] = f1_score(
            t, p, labels=labels, average="macro", zero_division=0, sample_weight=w
        )
        out["f1_micro_labels"] = f1_score(
            t, p, labels=labels, average="micro", zero_division=0, sample_weight=w
        )
    return out


KINDS = {"binary": binary, "multilabel": multilabel, "multiclass": multiclass}


def main():
    warnings.simplefilter("ignore")
    cases = json.load(sys.stdin)["cases"]
    results = {case["id"]: clean(KINDS[case["kind"]](case)) for case in cases}
    versions = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    json.dump({"versions": versions, "results": results}, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
