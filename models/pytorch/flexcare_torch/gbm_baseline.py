"""Gradient-boosting baseline on summary features written by the TypeScript side.

`deno task baseline --gbm` / `deno task eval --baseline --gbm` write, per task, a folder with
`meta.json` ({"kind": "binary"|"multiclass", "width": W, "outputs": K,
"splits": {"train": n, "val": n, "score": n}}), `X_<split>.f32` (little-endian float32, row
major [n, W]) and `y_<split>.json` (one label per row: 0/1 or the class). This module fits
scikit-learn's HistGradientBoostingClassifier on train for a few settings, keeps the one with
the best validation score (AUROC for binary tasks, macro-F1 for multi-class), and writes the
probabilities of the scored split to `p_score.f32` ([n, K]; binary K=1, the positive class) and
the choice to `choice.json`. Deterministic (random_state 0, no internal validation split).

    python3 -m flexcare_torch.gbm_baseline DIR
"""
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score, roc_auc_score

SETTINGS = [
    {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15, "min_samples_leaf": 40},
    {"learning_rate": 0.05, "max_iter": 400, "max_leaf_nodes": 7, "min_samples_leaf": 40},
    {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31, "min_samples_leaf": 20},
]


def load(folder: Path, split: str, n: int, width: int):
    x = np.fromfile(folder / f"X_{split}.f32", dtype="<f4")
    if x.size != n * width:
        raise SystemExit(f"{folder}/X_{split}.f32 has {x.size} values, expected {n} x {width}")
    y = np.asarray(json.loads((folder / f"y_{split}.json").read_text()), dtype=np.int64)
    return x.reshape(n, width).astype(np.float64), y


def score(kind: str, y, probs) -> float:
    if kind == "binary":
        return float(roc_auc_score(y, probs[:, 1])) if len(set(y.tolist())) == 2 else float("nan")
    return float(f1_score(y, probs.argmax(axis=1), average="macro"))


def main(folder: str) -> int:
    root = Path(folder)
    meta = json.loads((root / "meta.json").read_text())
    kind, width, outputs = meta["kind"], meta["width"], meta["outputs"]
    sizes = meta["splits"]
    x_train, y_train = load(root, "train", sizes["train"], width)
    x_val, y_val = load(root, "val", sizes["val"], width)
    x_score, _ = load(root, "score", sizes["score"], width)
    best = None
    for i, setting in enumerate(SETTINGS):
        model = HistGradientBoostingClassifier(
            **setting, l2_regularization=1.0, early_stopping=False, random_state=0
        )
        model.fit(x_train, y_train)
        s = score(kind, y_val, model.predict_proba(x_val))
        if best is None or s > best[0]:
            best = (s, i, model)
    s, i, model = best
    probs = model.predict_proba(x_score)
    if kind == "binary":
        out = probs[:, list(model.classes_).index(1)].reshape(-1, 1)
    else:
        out = np.zeros((len(x_score), outputs))
        for j, c in enumerate(model.classes_):
            out[:, int(c)] = probs[:, j]
    out.astype("<f4").tofile(root / "p_score.f32")
    (root / "choice.json").write_text(json.dumps({"setting": SETTINGS[i], "validation": s}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python3 -m flexcare_torch.gbm_baseline DIR")
    sys.exit(main(sys.argv[1]))
