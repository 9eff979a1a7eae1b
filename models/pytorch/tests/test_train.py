"""A tiny end-to-end training run on a tensor store written here, resumed, then exported."""
import json
import os

import pytest
import torch

from flexcare_torch import export, train
from tiny import write_store

OVERRIDES = json.dumps({"d_model": 16, "n_layers": 1, "ts_positions": 24, "note_positions": 24})


def args(store, out, epochs, *extra):
    return ["--store", store, "--out", out, "--epochs", str(epochs), "--config", OVERRIDES,
            "--lr", "1e-3", "--batch-size", "8", "--seed", "3", *extra]


def test_train_resume_and_export(tmp_path, capsys):
    store = write_store(os.path.join(tmp_path, "store"))
    straight, split = os.path.join(tmp_path, "a"), os.path.join(tmp_path, "b")
    assert train.main(args(store, straight, 3)) == 0
    log = capsys.readouterr().out
    lines = [line for line in log.splitlines() if line.startswith("epoch ") and " task " in line]
    assert len(lines) == 3 * 3  # one line per task per epoch
    assert "val_auroc" in lines[0] and "val_macro_auroc" in lines[1] and "val_macro_f1" in lines[2]

    assert train.main(args(store, split, 2)) == 0
    first = torch.load(os.path.join(split, "last.pt"))
    assert first["epoch"] == 2
    assert train.main(args(store, split, 3, "--resume")) == 0
    assert "resumed from epoch 2" in capsys.readouterr().out
    a = torch.load(os.path.join(straight, "last.pt"))
    b = torch.load(os.path.join(split, "last.pt"))
    assert b["epoch"] == 3 and len(b["history"]) == 3
    for key, value in a["model"].items():  # resuming continues exactly where it stopped
        torch.testing.assert_close(b["model"][key], value, atol=0, rtol=0)
    assert a["lrs"] == b["lrs"]

    with open(os.path.join(split, "metrics.json")) as f:
        metrics = json.load(f)
    assert set(metrics["test"]) == {"ihm", "phe", "los"}
    assert {"auroc", "auprc", "loss"} <= set(metrics["test"]["ihm"])

    model_dir = os.path.join(tmp_path, "model")
    assert export.main(["--checkpoint", os.path.join(split, "best.pt"), "--out", model_dir]) == 0
    with open(os.path.join(model_dir, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["normalizer"]["means"] == [0.0] * 76
    assert manifest["note_encoder"] == {"kind": "hashed", "dim": 8}
    assert manifest["training"]["best_epoch"] == metrics["best_epoch"]
    assert set(manifest["metrics"]["test"]) == {"ihm", "phe", "los"}


def test_learning_rate_halves_when_validation_loss_rises(tmp_path):
    store = write_store(os.path.join(tmp_path, "store"), {"train": 4, "val": 4})
    trainer = train.Trainer(train.TensorStore(store), str(tmp_path), train.build_config(
        train.TensorStore(store), ["ihm"], json.loads(OVERRIDES)), lr=1e-3, seed=0, log=lambda line: None)
    trainer._adjust_lr("ihm", 0.5)
    trainer._adjust_lr("ihm", 0.4)
    assert trainer.lrs["ihm"] == 1e-3
    trainer._adjust_lr("ihm", 0.45)
    assert trainer.lrs["ihm"] == 5e-4


def test_learning_rate_patience_and_floor(tmp_path):
    store = write_store(os.path.join(tmp_path, "store"), {"train": 4, "val": 4})
    trainer = train.Trainer(train.TensorStore(store), str(tmp_path), train.build_config(
        train.TensorStore(store), ["ihm"], json.loads(OVERRIDES)), lr=1e-3, seed=0, log=lambda line: None,
        lr_patience=2, min_lr=3e-4)
    rates = []
    for loss in [0.5, 0.6, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65]:
        trainer._adjust_lr("ihm", loss)
        rates.append(trainer.lrs["ihm"])
    # one rise (0.5 -> 0.6) is tolerated; two in a row (0.4 -> 0.45 -> 0.5) halve; the next
    # rises halve again but never below the floor
    assert rates == [1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 3e-4, 3e-4, 3e-4]
    with pytest.raises(ValueError, match="lr_patience"):
        train.Trainer(train.TensorStore(store), str(tmp_path), trainer.config, lr=1e-3, seed=0,
                      log=lambda line: None, lr_patience=0)


def test_batches_cover_each_sample_once_with_buckets(tmp_path):
    from flexcare_torch.data import TaskDataset, TensorStore, batches

    store = TensorStore(write_store(os.path.join(tmp_path, "store"), {"train": 37}))
    dataset = TaskDataset(store, store.task_heads(["ihm"])[0], "train")
    sizes = [len(b["labels"]) for b in batches(dataset, 8, True, seed=1, bucket=2)]
    assert sum(sizes) == 37 and max(sizes) == 8
    rows = [int(b["ts_mask"].sum(1).max()) for b in batches(dataset, 8, True, seed=1, bucket=2)]
    assert len(rows) == len(sizes)
    assert sum(len(b["labels"]) for b in batches(dataset, 8, True, seed=2, limit=10)) == 10


def test_init_from_a_checkpoint(tmp_path, capsys):
    store = write_store(os.path.join(tmp_path, "store"), {"train": 8, "val": 4})
    first = os.path.join(tmp_path, "first")
    assert train.main(args(store, first, 1, "--tasks", "ihm")) == 0
    second = os.path.join(tmp_path, "second")
    assert train.main(args(store, second, 1, "--init", os.path.join(first, "last.pt"))) == 0
    assert "initialised from" in capsys.readouterr().out
    assert [t["code"] for t in torch.load(os.path.join(second, "last.pt"))["config"]["tasks"]] == ["ihm"]


def test_task_samples_override_the_subset_size(tmp_path):
    assert train.parse_task_samples("ihm=5, dec=7") == {"ihm": 5, "dec": 7}
    for bad in ["ihm", "ihm=0", "=3", "ihm=x"]:
        with pytest.raises(ValueError, match="TASK=N"):
            train.parse_task_samples(bad)
    store = write_store(os.path.join(tmp_path, "store"), {"train": 6, "val": 4})
    config = train.build_config(train.TensorStore(store), ["ihm"], json.loads(OVERRIDES))
    with pytest.raises(ValueError, match="not trained"):
        train.Trainer(train.TensorStore(store), str(tmp_path), config, lr=1e-3, seed=0,
                      log=lambda line: None, task_samples={"dec": 3})
    seen = []
    trainer = train.Trainer(train.TensorStore(store), str(tmp_path), config, lr=1e-3, seed=0,
                            log=lambda line: None, max_samples_per_task=5, task_samples={"ihm": 2},
                            batch_size=1)
    original = trainer._forward
    trainer._forward = lambda batch: (seen.append(len(batch["labels"])), original(batch))[1]
    trainer.train_task(trainer.tasks[0])
    assert sum(seen) == 2
