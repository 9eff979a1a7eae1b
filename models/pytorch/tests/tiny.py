"""Tiny configs, inputs and a tiny tensor store for fast tests."""
from __future__ import annotations

import json
import os
from typing import Dict

import numpy as np
import torch

from flexcare_torch.config import FlexCareConfig, TaskHead

TASKS = (
    TaskHead("ihm", 0, "binary", 1, 0.2),
    TaskHead("phe", 2, "multilabel", 3, 1.0),
    TaskHead("los", 3, "multiclass", 4, 0.5),
)


def tiny_config(**changes) -> FlexCareConfig:
    base = FlexCareConfig(d_model=16, n_heads=2, n_layers=2, note_dim=8, image_size=32, patch_size=16,
                          ts_positions=24, note_positions=24, tasks=TASKS, dropout=0.0)
    return base.replace(**changes)


def tiny_inputs(config: FlexCareConfig, batch: int = 3, rows: int = 5, tokens: int = 4, seed: int = 0) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ts_mask = torch.ones(batch, rows)
    ts_mask[0, rows - 2:] = 0
    note_mask = torch.ones(batch, tokens)
    note_mask[-1, 1:] = 0
    presence = torch.ones(batch, 3)
    if batch >= 3:
        presence[1, 1] = 0  # no image
        presence[2, 0] = 0  # no time series
    ids = [t.id for t in config.tasks]
    task_ids = torch.tensor([[ids[(b + k) % len(ids)] for k in range(2)] for b in range(batch)])
    return {
        "ts": torch.randn(batch, rows, config.ts_columns, generator=g), "ts_mask": ts_mask,
        "image": torch.randn(batch, config.image_channels, config.image_size, config.image_size, generator=g),
        "note": torch.randn(batch, tokens, config.note_dim, generator=g), "note_mask": note_mask,
        "presence": presence, "task_ids": task_ids,
    }


def write_store(path: str, n_per_split: Dict[str, int] = None, image_size: int = 32, note_dim: int = 8, seed: int = 0) -> str:
    """A tensor store per models/tensor_store.md whose labels depend on the inputs."""
    n_per_split = n_per_split or {"train": 24, "val": 10, "test": 10}
    rng = np.random.default_rng(seed)
    os.makedirs(path, exist_ok=True)
    ts_rows, img_rows, note_rows = [], [], []
    n_ts = n_img = n_note = 0
    tasks = {
        "ihm": {"id": 0, "kind": "binary", "labels": 1, "classes": []},
        "phe": {"id": 2, "kind": "multilabel", "labels": 3, "classes": []},
        "los": {"id": 3, "kind": "multiclass", "labels": 1, "classes": ["a", "b", "c", "d"]},
    }
    splits = {}
    for code, info in tasks.items():
        os.makedirs(os.path.join(path, code), exist_ok=True)
        for split, n in n_per_split.items():
            lines = []
            for i in range(n):
                has = rng.random(3) < 0.7
                if not has.any():
                    has[0] = True
                x = rng.normal(size=(int(rng.integers(2, 9)), 76)).astype(np.float32)
                signal = float(x[:, 0].mean())
                rec = {"task": code, "task_id": info["id"], "subject_id": str(i), "stay_id": f"{split}{i}",
                       "time": 48.0, "ts": None, "image": None, "note": None}
                if has[0]:
                    rec["ts"] = {"shard": 0, "start": n_ts, "rows": len(x)}
                    ts_rows.append(x)
                    n_ts += len(x)
                if has[1]:
                    rec["image"] = {"shard": 0, "index": n_img, "augmented": []}
                    img_rows.append(rng.normal(size=(3, image_size, image_size)).astype(np.float32))
                    n_img += 1
                if has[2]:
                    toks = rng.normal(size=(int(rng.integers(1, 6)), note_dim)).astype(np.float32)
                    rec["note"] = {"shard": 0, "start": n_note, "tokens": len(toks)}
                    note_rows.append(toks)
                    n_note += len(toks)
                if info["kind"] == "binary":
                    rec["labels"] = [int(signal > 0)]
                elif info["kind"] == "multilabel":
                    rec["labels"] = [int(signal > 0), int(rng.random() < 0.5), -1 if i % 4 == 0 else int(signal < 0)]
                else:
                    rec["labels"] = [int(np.clip(signal * 4 + 2, 0, 3))]
                lines.append(json.dumps(rec))
            with open(os.path.join(path, code, f"{split}.jsonl"), "w") as f:
                f.write("\n".join(lines) + "\n")
            splits[f"{code}/{split}"] = n
    np.save(os.path.join(path, "ts-00000.npy"), np.concatenate(ts_rows) if ts_rows else np.zeros((0, 76), np.float32))
    np.save(os.path.join(path, "img-00000.npy"), np.stack(img_rows) if img_rows else np.zeros((0, 3, image_size, image_size), np.float32))
    np.save(os.path.join(path, "note-00000.npy"), np.concatenate(note_rows) if note_rows else np.zeros((0, note_dim), np.float32))
    meta = {
        "format": "flexcare-tensor-store", "version": 1, "created_by": "flexcare tests",
        "source": {"data": "synthetic", "synthetic": True},
        "timeseries": {"columns": 76, "max_rows": 512, "header": [f"c{i}" for i in range(76)],
                       "normalizer": {"means": [0.0] * 76, "stds": [1.0] * 76, "standardized_columns": list(range(76))}},
        "image": {"shape": [3, image_size, image_size], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "augment": 0},
        "note": {"encoder": {"kind": "hashed", "dim": note_dim}, "max_tokens": 512},
        "tasks": tasks, "splits": splits,
        "shards": {"timeseries": ["ts-00000.npy"], "images": ["img-00000.npy"], "notes": ["note-00000.npy"]},
    }
    with open(os.path.join(path, "store.json"), "w") as f:
        json.dump(meta, f)
    return path
