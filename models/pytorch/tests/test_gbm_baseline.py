"""The gradient-boosting baseline reads the TypeScript side's files and writes probabilities."""
import json

import numpy as np

from flexcare_torch.gbm_baseline import main


def write(folder, kind, outputs, splits, seed=0):
    rng = np.random.default_rng(seed)
    sizes = {}
    for split, n in splits.items():
        x = rng.normal(size=(n, 5)).astype("<f4")
        y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int) if kind == "binary" else (
            np.digitize(x[:, 0], [-0.5, 0.5])
        )
        x.tofile(folder / f"X_{split}.f32")
        (folder / f"y_{split}.json").write_text(json.dumps(y.tolist()))
        sizes[split] = n
    (folder / "meta.json").write_text(
        json.dumps({"kind": kind, "width": 5, "outputs": outputs, "splits": sizes})
    )


def test_binary_probabilities_learn_the_signal_and_repeat(tmp_path):
    write(tmp_path, "binary", 1, {"train": 400, "val": 100, "score": 200})
    assert main(str(tmp_path)) == 0
    p = np.fromfile(tmp_path / "p_score.f32", dtype="<f4")
    assert p.shape == (200,) and ((p >= 0) & (p <= 1)).all()
    x = np.fromfile(tmp_path / "X_score.f32", dtype="<f4").reshape(200, 5)
    assert np.corrcoef(p, x[:, 0])[0, 1] > 0.7
    choice = json.loads((tmp_path / "choice.json").read_text())
    assert choice["validation"] > 0.8
    assert main(str(tmp_path)) == 0
    assert (np.fromfile(tmp_path / "p_score.f32", dtype="<f4") == p).all()


def test_multiclass_rows_are_distributions(tmp_path):
    write(tmp_path, "multiclass", 4, {"train": 300, "val": 60, "score": 50})
    assert main(str(tmp_path)) == 0
    p = np.fromfile(tmp_path / "p_score.f32", dtype="<f4").reshape(50, 4)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert (p[:, 3] == 0).all()  # class 3 never occurs in training
