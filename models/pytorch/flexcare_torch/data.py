"""Reads the tensor store written by `deno task tensorize` (models/tensor_store.md, format 1).

Python never re-implements a feature: it memory-maps the store's arrays and pads them into
batches. A batch is a dict of tensors named like the ONNX inputs:
    ts (B, T, 76), ts_mask (B, T), image (B, C, H, W), note (B, N, E), note_mask (B, N),
    presence (B, 3) [t, i, n], task_ids (B, 1), labels (B, L) float or (B,) long (multi-class).
T and N are at least 1 (a missing modality is a zero row with mask 0 and presence 0).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch

from .config import PAPER_TASK_WEIGHTS, TaskHead

STORE_FORMAT = "flexcare-tensor-store"
STORE_VERSION = 1


class TensorStore:
    """store.json plus lazily memory-mapped shards."""

    def __init__(self, path: str):
        self.path = path
        meta_path = os.path.join(path, "store.json")
        if not os.path.exists(meta_path):
            raise FileNotFoundError(f'No tensor store at "{path}": store.json is missing')
        with open(meta_path, encoding="utf-8") as f:
            self.meta: Dict[str, Any] = json.load(f)
        if self.meta.get("format") != STORE_FORMAT or self.meta.get("version") != STORE_VERSION:
            raise ValueError(f'"{meta_path}" is not a {STORE_FORMAT} version {STORE_VERSION}')
        self._arrays: Dict[str, np.ndarray] = {}

    def array(self, kind: str, shard: int) -> np.ndarray:
        names = self.meta["shards"][kind]
        if not 0 <= shard < len(names):
            raise IndexError(f'Shard {shard} of "{kind}" does not exist in "{self.path}"')
        name = names[shard]
        if name not in self._arrays:
            self._arrays[name] = np.load(os.path.join(self.path, name), mmap_mode="r")
        return self._arrays[name]

    @property
    def note_dim(self) -> int:
        return int(self.meta["note"]["encoder"]["dim"])

    @property
    def image_shape(self) -> List[int]:
        return list(self.meta["image"]["shape"])

    @property
    def ts_columns(self) -> int:
        return int(self.meta["timeseries"]["columns"])

    def has_split(self, task: str, split: str) -> bool:
        return os.path.exists(os.path.join(self.path, task, f"{split}.jsonl"))

    def samples(self, task: str, split: str) -> List[Dict[str, Any]]:
        path = os.path.join(self.path, task, f"{split}.jsonl")
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def task_heads(self, codes: Optional[Sequence[str]] = None) -> List[TaskHead]:
        """Task heads of the store's tasks (optionally only `codes`), with Appendix A.4's task
        weights. Label names: `label_names` when the store gives them, else `classes`."""
        tasks = self.meta["tasks"]
        wanted = list(codes) if codes else sorted(tasks, key=lambda c: tasks[c]["id"])
        heads = []
        for code in wanted:
            if code not in tasks:
                raise KeyError(f'Task "{code}" is not in the store; it has {sorted(tasks)}')
            t = tasks[code]
            kind = t["kind"]
            outputs = len(t.get("classes") or []) if kind == "multiclass" else int(t["labels"])
            names = tuple(t.get("label_names") or t.get("classes") or ())
            heads.append(TaskHead(code, int(t["id"]), kind, outputs, PAPER_TASK_WEIGHTS.get(code, 1.0), names))
        return heads


@dataclass
class Sample:
    ts: Optional[np.ndarray]
    image: Optional[np.ndarray]
    note: Optional[np.ndarray]
    task_id: int
    labels: List[float]


class TaskDataset:
    """One task's split: samples resolved against the store's shards."""

    def __init__(self, store: TensorStore, task: TaskHead, split: str, augment: bool = False):
        self.store, self.task, self.split, self.augment = store, task, split, augment
        self.records = store.samples(task.code, split)

    def __len__(self) -> int:
        return len(self.records)

    def get(self, index: int, rng: Optional[np.random.Generator] = None) -> Sample:
        r = self.records[index]
        ts = img = note = None
        if r.get("ts"):
            a = self.store.array("timeseries", r["ts"]["shard"])
            ts = a[r["ts"]["start"]:r["ts"]["start"] + r["ts"]["rows"]]
        if r.get("image"):
            choice = r["image"]
            copies = choice.get("augmented") or []
            if self.augment and copies and rng is not None:
                pick = int(rng.integers(0, len(copies) + 1))
                choice = choice if pick == 0 else copies[pick - 1]
            img = self.store.array("images", choice["shard"])[choice["index"]]
        if r.get("note"):
            a = self.store.array("notes", r["note"]["shard"])
            note = a[r["note"]["start"]:r["note"]["start"] + r["note"]["tokens"]]
        if ts is None and img is None and note is None:
            raise ValueError(f'Sample {index} of {self.task.code}/{self.split} has no modality')
        return Sample(ts, img, note, int(r.get("task_id", self.task.id)), list(r["labels"]))


def collate(samples: Sequence[Sample], task: TaskHead, ts_columns: int, image_shape: Sequence[int],
            note_dim: int) -> Dict[str, torch.Tensor]:
    """Pads a list of samples into one batch (see the module docstring)."""
    b = len(samples)
    t_max = max([1] + [len(s.ts) for s in samples if s.ts is not None])
    n_max = max([1] + [len(s.note) for s in samples if s.note is not None])
    ts = np.zeros((b, t_max, ts_columns), np.float32)
    ts_mask = np.zeros((b, t_max), np.float32)
    image = np.zeros((b, *image_shape), np.float32)
    note = np.zeros((b, n_max, note_dim), np.float32)
    note_mask = np.zeros((b, n_max), np.float32)
    presence = np.zeros((b, 3), np.float32)
    for i, s in enumerate(samples):
        if s.ts is not None and len(s.ts):
            ts[i, :len(s.ts)] = s.ts
            ts_mask[i, :len(s.ts)] = 1
            presence[i, 0] = 1
        if s.image is not None:
            image[i] = s.image
            presence[i, 1] = 1
        if s.note is not None and len(s.note):
            note[i, :len(s.note)] = s.note
            note_mask[i, :len(s.note)] = 1
            presence[i, 2] = 1
    if task.kind == "multiclass":
        labels = torch.tensor([int(s.labels[0]) for s in samples], dtype=torch.long)
    else:
        labels = torch.tensor([s.labels for s in samples], dtype=torch.float32).reshape(b, task.outputs)
    return {
        "ts": torch.from_numpy(ts), "ts_mask": torch.from_numpy(ts_mask),
        "image": torch.from_numpy(image), "note": torch.from_numpy(note),
        "note_mask": torch.from_numpy(note_mask), "presence": torch.from_numpy(presence),
        "task_ids": torch.tensor([[s.task_id] for s in samples], dtype=torch.long),
        "labels": labels,
    }


def ts_rows(record: Dict[str, Any]) -> int:
    return int(record["ts"]["rows"]) if record.get("ts") else 0


def batches(dataset: TaskDataset, batch_size: int, shuffle: bool, seed: int = 0, rank: int = 0,
            world: int = 1, limit: Optional[int] = None, bucket: int = 0) -> Iterator[Dict[str, torch.Tensor]]:
    """Mini-batches of one task: shuffled with `seed`, cut to `limit` samples (a fresh subset
    each seed), sharded by rank under DDP. With `bucket` > 0, each run of `bucket` batches is
    sorted by time-series length before being cut into batches (less padding), and the batches
    are then shuffled."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(dataset)) if shuffle else np.arange(len(dataset))
    if limit is not None:
        order = order[:limit]
    if world > 1:  # equal shards, so every DDP rank takes the same number of steps
        order = order[:len(order) - len(order) % world]
    order = order[rank::world]
    groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if bucket > 0:
        groups = []
        span = batch_size * bucket
        for start in range(0, len(order), span):
            run = sorted(order[start:start + span], key=lambda i: ts_rows(dataset.records[int(i)]))
            groups += [run[i:i + batch_size] for i in range(0, len(run), batch_size)]
        groups = [groups[int(i)] for i in rng.permutation(len(groups))]
    store = dataset.store
    for group in groups:
        chunk = [dataset.get(int(i), rng) for i in group]
        yield collate(chunk, dataset.task, store.ts_columns, store.image_shape, store.note_dim)
