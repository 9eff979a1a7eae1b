"""Asynchronous multitask training of FlexCare (Algorithm 1) on the tensor store.

    python3 -m flexcare_torch.train --store STORE --out DIR [--epochs N] [--tasks ihm dec ...]
        [--lr 1e-4] [--seed 42] [--batch-size 32] [--config '{"d_model": 64}'] [--resume]
        [--max-samples-per-task N] [--bucket 8] [--device cpu] [--threads N] [--init CKPT]
        [--lr-patience 1] [--min-lr 0] [--task-samples ihm=N,...]

One shared model. Every epoch visits the tasks one after another, each over its own training
data in mini-batches (single-task steps). Each step's loss is
    (task loss + beta * decorrelation loss + MoE balance loss) * task weight
with masked BCE (labels of -1 ignored) for binary/multi-label tasks and cross-entropy for
multi-class tasks. Per-task learning rates: like the reference code, ONE Adam optimizer whose
learning rate is switched to the current task's rate before its steps (Adam's moment estimates
are shared across tasks); a task's rate is halved when its validation loss did not fall over
the last 2 epochs (the reference code's rule). `--lr-patience K` asks for K such epochs in a
row before halving, and `--min-lr` is a floor: on small cohorts the validation loss is noisy and
the reference rule can halve a rate four times while the task's validation score still rises. The kept checkpoint (`best.pt`) maximises the sum over tasks of the two
validation scores (AUROC+AUPRC, macro+micro AUROC, macro+micro F1). `last.pt` holds model,
optimizer, epoch, learning rates, histories and RNG states; `--resume` continues from it.
At the end the best checkpoint is scored on the test split (`metrics.json`).
Training batches are cut from runs of `--bucket` batches sorted by time-series length (less
padding; the batch order is shuffled); `--max-samples-per-task` trains each task on a fresh
random subset per epoch (hourly tasks such as DEC have many samples per stay), and
`--task-samples ihm=5000,...` sets that size per task (cheap tasks with short inputs can see
more samples per epoch than costly ones).

Multi-GPU: run under torchrun, e.g.
    torchrun --nproc_per_node 4 -m flexcare_torch.train --store S --out D --device cuda
Each process takes every WORLD_SIZE-th sample of each task's shuffled order, the model is wrapped
in DistributedDataParallel (find_unused_parameters: only one head is used per step) and rank 0
logs, validates and saves. Without torchrun's environment the trainer runs in one process on
`--device` (CPU by default). torchrun only sets MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK and
LOCAL_RANK; starting one process per rank with those variables works the same (checked on CPU
with 2 gloo processes; Debian's torch 1.13 torchrun fails under Python 3.11).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import FlexCareConfig, TaskHead
from .data import TaskDataset, TensorStore, batches
from .metrics import SCORE_NAMES, task_scores
from .model import FlexCare

MODEL_INPUTS = ("ts", "ts_mask", "image", "note", "note_mask", "presence", "task_ids")


def task_loss(task: TaskHead, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """logits (B, n) of the task's head; masked BCE or cross-entropy."""
    if task.kind == "multiclass":
        return F.cross_entropy(logits, labels)
    known = labels > -1
    if not bool(known.any()):
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[known], labels[known])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> Dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def build_config(store: TensorStore, tasks: Sequence[str], overrides: Dict[str, Any]) -> FlexCareConfig:
    """The paper's sizes, the store's input widths and tasks, then `overrides`."""
    shape = store.image_shape
    return FlexCareConfig(
        tasks=tuple(store.task_heads(tasks or None)), note_dim=store.note_dim, ts_columns=store.ts_columns,
        image_channels=shape[0], image_size=shape[1],
    ).replace(**overrides)


class Trainer:
    def __init__(self, store: TensorStore, out: str, config: FlexCareConfig, lr: float, seed: int,
                 batch_size: int = 32, device: str = "cpu", log=print,
                 max_samples_per_task: Optional[int] = None, bucket: int = 8,
                 lr_patience: int = 1, min_lr: float = 0.0,
                 task_samples: Optional[Dict[str, int]] = None):
        if lr_patience < 1:
            raise ValueError(f"lr_patience must be at least 1, got {lr_patience}")
        self.store, self.out, self.config = store, out, config
        self.lr_patience, self.min_lr = lr_patience, min_lr
        self.max_samples, self.bucket = max_samples_per_task, bucket
        self.task_samples = dict(task_samples or {})
        self.seed, self.batch_size, self.log = seed, batch_size, log
        self.rank, self.world = 0, 1
        self.device = torch.device(device)
        if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1 and torch.distributed.is_available():
            torch.distributed.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
            self.rank, self.world = torch.distributed.get_rank(), torch.distributed.get_world_size()
            if self.device.type == "cuda":
                self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        if self.rank != 0:
            self.log = lambda line: None
        seed_everything(seed)
        self.model = FlexCare(config).to(self.device)
        self.net = self.model
        if self.world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)
        self.tasks = [t for t in config.tasks if store.has_split(t.code, "train")]
        if not self.tasks:
            raise ValueError(f'The store "{store.path}" has no training split for {[t.code for t in config.tasks]}')
        unknown = sorted(set(self.task_samples) - {t.code for t in self.tasks})
        if unknown:
            raise ValueError(f"task_samples names tasks that are not trained: {unknown}")
        self.train_sets = {t.code: TaskDataset(store, t, "train", augment=True) for t in self.tasks}
        self.val_sets = {t.code: TaskDataset(store, t, "val") for t in self.tasks if store.has_split(t.code, "val")}
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.lrs = {t.code: lr for t in self.tasks}
        self.val_loss_history: Dict[str, List[float]] = {t.code: [] for t in self.tasks}
        self.epoch = 0
        self.best_score = float("-inf")
        self.best_epoch = 0
        self.history: List[Dict[str, Any]] = []

    # --- checkpoints -----------------------------------------------------------------------

    def state(self) -> Dict[str, Any]:
        return {
            "format": "flexcare-torch-checkpoint", "version": 1,
            "config": self.config.to_dict(), "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "epoch": self.epoch, "lrs": self.lrs,
            "val_loss_history": self.val_loss_history, "best_score": self.best_score,
            "best_epoch": self.best_epoch, "history": self.history, "seed": self.seed,
            "rng": rng_state(), "store": {"path": os.path.abspath(self.store.path), "meta": self.store.meta},
        }

    def save(self, name: str) -> None:
        if self.rank != 0:
            return
        path = os.path.join(self.out, name)
        torch.save(self.state(), path + ".tmp")
        os.replace(path + ".tmp", path)

    def load(self, path: str) -> None:
        ckpt = torch.load(path, map_location=self.device)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.epoch, self.lrs = ckpt["epoch"], ckpt["lrs"]
        self.val_loss_history, self.history = ckpt["val_loss_history"], ckpt["history"]
        self.best_score, self.best_epoch = ckpt["best_score"], ckpt["best_epoch"]
        set_rng_state(ckpt["rng"])

    # --- epochs --------------------------------------------------------------------------

    def _forward(self, batch: Dict[str, torch.Tensor]):
        return self.net(*(batch[name].to(self.device) for name in MODEL_INPUTS))

    def train_task(self, task: TaskHead) -> Dict[str, float]:
        self.net.train()
        for group in self.optimizer.param_groups:
            group["lr"] = self.lrs[task.code]
        total, count, started = 0.0, 0, time.time()
        seed = self.seed * 1000003 + self.epoch * 101 + task.id
        for batch in batches(self.train_sets[task.code], self.batch_size, True, seed, self.rank, self.world,
                             limit=self.task_samples.get(task.code, self.max_samples), bucket=self.bucket):
            out = self._forward(batch)
            logits = out.logits[:, 0, :task.outputs]
            loss = task_loss(task, logits, batch["labels"].to(self.device))
            loss = (loss + self.config.decorrelation_beta * out.decorrelation + out.balance) * task.weight
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += float(loss) * len(batch["labels"])
            count += len(batch["labels"])
        return {"train_loss": total / max(count, 1), "train_seconds": time.time() - started}

    @torch.no_grad()
    def evaluate(self, dataset: TaskDataset) -> Dict[str, float]:
        """Task loss (mean over samples) and the two scores of the task's kind."""
        task = dataset.task
        self.model.eval()
        losses, labels, probs = 0.0, [], []
        # batches of similar time-series length (the whole split sorted): less padding; the
        # scores do not depend on the order
        whole = len(dataset) // self.batch_size + 1 if self.bucket else 0
        for batch in batches(dataset, self.batch_size, False, bucket=whole):
            out = self.model(*(batch[name].to(self.device) for name in MODEL_INPUTS))
            y = batch["labels"].to(self.device)
            losses += float(task_loss(task, out.logits[:, 0, :task.outputs], y)) * len(y)
            labels.append(y.cpu().numpy())
            probs.append(out.probs[:, 0, :task.outputs].cpu().numpy())
        if not labels:
            return {"loss": float("nan")}
        scores = task_scores(task.kind, np.concatenate(labels), np.concatenate(probs))
        return {"loss": losses / len(dataset), **scores}

    def run(self, epochs: int) -> Dict[str, Any]:
        os.makedirs(self.out, exist_ok=True)
        while self.epoch < epochs:
            self.epoch += 1
            record: Dict[str, Any] = {"epoch": self.epoch, "tasks": {}}
            for task in self.tasks:
                record["tasks"][task.code] = {"lr": self.lrs[task.code], **self.train_task(task)}
            score = 0.0
            for task in self.tasks:
                entry = record["tasks"][task.code]
                if task.code in self.val_sets:  # every rank, so the rates stay in step
                    val = self.evaluate(self.val_sets[task.code])
                    entry.update({f"val_{k}": v for k, v in val.items()})
                    score += sum(val.get(name, 0.0) for name in SCORE_NAMES[task.kind])
                    self._adjust_lr(task.code, val["loss"])
                self.log(self._line(task, entry))
            record["val_score"] = score
            self.history.append(record)
            if score > self.best_score:
                self.best_score, self.best_epoch = score, self.epoch
                self.save("best.pt")
            self.save("last.pt")
            self.log(f"epoch {self.epoch} val_score {score:.4f} best_epoch {self.best_epoch}")
        return self.finish()

    def _adjust_lr(self, code: str, val_loss: float) -> None:
        """Halves a task's rate when its validation loss did not fall in each of the last
        `lr_patience` epochs (1: the reference rule, compare the last 2 epochs), not below
        `min_lr`."""
        hist = self.val_loss_history[code]
        hist.append(val_loss)
        k = self.lr_patience
        if len(hist) > k and all(hist[i - 1] <= hist[i] for i in range(len(hist) - k, len(hist))):
            self.lrs[code] = max(self.lrs[code] / 2, self.min_lr)

    def _line(self, task: TaskHead, entry: Dict[str, Any]) -> str:
        parts = [f"epoch {self.epoch}", f"task {task.code}", f"lr {entry['lr']:.3g}",
                 f"train_loss {entry['train_loss']:.4f}", f"time {entry['train_seconds']:.1f}s"]
        parts += [f"{k} {v:.4f}" for k, v in entry.items() if k.startswith("val_")]
        return " ".join(parts)

    def finish(self) -> Dict[str, Any]:
        """Scores the best checkpoint on the test split; writes metrics.json."""
        if self.rank != 0:
            return {}
        best = os.path.join(self.out, "best.pt")
        if os.path.exists(best):
            self.model.load_state_dict(torch.load(best, map_location=self.device)["model"])
        test = {}
        for task in self.tasks:
            if self.store.has_split(task.code, "test"):
                test[task.code] = self.evaluate(TaskDataset(self.store, task, "test"))
                self.log(f"test task {task.code} " + " ".join(f"{k} {v:.4f}" for k, v in test[task.code].items()))
        result = {"best_epoch": self.best_epoch, "best_val_score": self.best_score, "epochs": self.epoch,
                  "test": test, "history": self.history,
                  "train_samples": {c: len(d) for c, d in self.train_sets.items()},
                  "val_samples": {c: len(d) for c, d in self.val_sets.items()}}
        with open(os.path.join(self.out, "metrics.json"), "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        return result


def parse_task_samples(text: str) -> Dict[str, int]:
    """`ihm=5000,dec=5000` -> {"ihm": 5000, "dec": 5000}."""
    out: Dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        code, sep, value = part.partition("=")
        if not sep or not code.strip() or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"--task-samples expects TASK=N entries with N >= 1, got {part!r}")
        out[code.strip()] = int(value)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="flexcare_torch.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--store", required=True, help="tensor store directory (deno task tensorize)")
    p.add_argument("--out", required=True, help="output directory for checkpoints and metrics")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--tasks", nargs="*", default=[], help="task codes (default: every task of the store)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: PyTorch's default)")
    p.add_argument("--config", default="{}", help="JSON overrides of FlexCareConfig fields")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--init", help="start from this checkpoint's weights and configuration "
                                  "(a train or import_checkpoint --save-checkpoint file)")
    p.add_argument("--max-samples-per-task", type=int, default=None,
                   help="train each task on a fresh random subset of this many samples per epoch")
    p.add_argument("--task-samples", default="",
                   help="per-task subset sizes overriding --max-samples-per-task, e.g. ihm=5000,dec=5000")
    p.add_argument("--lr-patience", type=int, default=1,
                   help="halve a task's rate after this many epochs in a row whose validation loss "
                        "did not fall (1: the reference code's rule)")
    p.add_argument("--min-lr", type=float, default=0.0, help="never halve a task's rate below this")
    p.add_argument("--bucket", type=int, default=8,
                   help="sort runs of this many batches by time-series length (0: plain shuffle)")
    args = p.parse_args(argv)
    tasks = [c for arg in args.tasks for c in arg.split(",") if c]
    if args.threads:
        torch.set_num_threads(args.threads)
    store = TensorStore(args.store)
    last = os.path.join(args.out, "last.pt")
    init = torch.load(args.init, map_location="cpu") if args.init else None
    if args.resume and os.path.exists(last):
        config = FlexCareConfig.from_dict(torch.load(last, map_location="cpu")["config"])
    elif init is not None:
        config = FlexCareConfig.from_dict(init["config"])
    else:
        config = build_config(store, tasks, json.loads(args.config))
    trainer = Trainer(store, args.out, config, args.lr, args.seed, args.batch_size, args.device,
                      log=lambda line: print(line, flush=True),
                      max_samples_per_task=args.max_samples_per_task, bucket=args.bucket,
                      lr_patience=args.lr_patience, min_lr=args.min_lr,
                      task_samples=parse_task_samples(args.task_samples))
    if init is not None and not (args.resume and os.path.exists(last)):
        trainer.model.load_state_dict(init["model"])
        print(f'initialised from "{args.init}"', flush=True)
    if args.resume:
        if not os.path.exists(last):
            raise FileNotFoundError(f'Cannot resume: "{last}" does not exist')
        trainer.load(last)
        print(f"resumed from epoch {trainer.epoch}", flush=True)
    trainer.run(args.epochs)
    if trainer.world > 1:
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
