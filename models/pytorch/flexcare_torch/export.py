"""ONNX export of a FlexCare checkpoint into a model directory.

    python3 -m flexcare_torch.export --checkpoint best.pt --out DIR [--parity]
    python3 -m flexcare_torch.export --random-init '{"d_model": 16}' --out DIR --parity  (test models)

Writes (fp32, opset 14, dynamic batch B, time-series rows T, note tokens N, task tokens K):
- flexcare.onnx, one graph: ts (B,T,76), ts_mask (B,T), image (B,3,224,224), note (B,N,E),
  note_mask (B,N), presence (B,3), task_ids (B,K) int64, task_table (R,d) ->
  logits (B,K,W), probs (B,K,W), s_p (B,K,2d), alpha (B,K,7), gates (B,K,7,n_experts);
  W is the widest head; row k holds the head of task_ids[b,k] in its first `outputs` columns.
  The task tokens are rows task_ids[b,k] of the task_table INPUT (R = 40 rows of d), not of
  weights inside the graph, so a caller can put a fine-tuned task's own token into a free row
  (the frozen backbone is unchanged); task_ids still select the built-in heads.
- task_table.json: the trained task-embedding table {"dims": [R, d], "dtype", "data"}, fed
  as task_table (its sha256 is in the manifest).
- paper mode only, the streaming stages:
  image_tower.onnx: image -> image_states (B, L+1, 197, d) (the input of every layer and the
  final output; run once per image); note_tower.onnx: note, note_mask -> note_states
  (B, L+1, 1+N, d); step.onnx: ts, ts_mask, image_states, note_states, note_mask, presence,
  task_ids, task_table -> the outputs of flexcare.onnx. A missing image/note takes zeros of that shape with
  presence 0 (and note_mask of zeros).
- manifest.json (see `manifest()`), and with --parity, parity/<graph>.inputs.json and
  parity/<graph>.outputs.json: named tensors {"name": {"dims", "dtype", "data"}} with the
  PyTorch results, for onnxruntime parity tests.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import sys
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import COMBINATIONS, FlexCareConfig
from .model import FlexCare

OPSET = 14
MANIFEST_FORMAT = "flexcare-model"
MANIFEST_VERSION = 1
CREATED_BY = "flexcare_torch.export 0.1.0"
OUTPUT_NAMES = ("logits", "probs", "s_p", "alpha", "gates")
TASK_TABLE_FILE = "task_table.json"


class TableEmbedding(nn.Module):
    """The task-embedding lookup on a table passed at run time (a graph input)."""

    def __init__(self, table: Tensor):
        super().__init__()
        self.table = table  # (R, d)

    def forward(self, ids: Tensor) -> Tensor:
        return F.embedding(ids, self.table)  # (..., d)


@contextlib.contextmanager
def task_table_input(model: FlexCare, table: Tensor) -> Iterator[None]:
    """Within the block the model reads its task tokens from `table` (R, d) instead of its
    `task_embedding` weights; the exported graphs thus take the table as an input."""
    original = model.task_embedding
    model.task_embedding = TableEmbedding(table)
    try:
        yield
    finally:
        model.task_embedding = original


class OneGraph(nn.Module):
    def __init__(self, model: FlexCare):
        super().__init__()
        self.model = model

    def forward(self, ts, ts_mask, image, note, note_mask, presence, task_ids, task_table):
        with task_table_input(self.model, task_table):
            out = self.model(ts, ts_mask, image, note, note_mask, presence, task_ids)
        return out.logits, out.probs, out.s_p, out.alpha, out.gates


class ImageTower(nn.Module):
    def __init__(self, model: FlexCare):
        super().__init__()
        self.model = model

    def forward(self, image):
        return self.model.image_tower(image)


class NoteTower(nn.Module):
    def __init__(self, model: FlexCare):
        super().__init__()
        self.model = model

    def forward(self, note, note_mask):
        return self.model.note_tower(note, note_mask)


class Step(nn.Module):
    def __init__(self, model: FlexCare):
        super().__init__()
        self.model = model

    def forward(self, ts, ts_mask, image_states, note_states, note_mask, presence, task_ids, task_table):
        with task_table_input(self.model, task_table):
            out = self.model.step(ts, ts_mask, image_states, note_states, note_mask, presence, task_ids)
        return out.logits, out.probs, out.s_p, out.alpha, out.gates


def tensor_specs(config: FlexCareConfig) -> Dict[str, Tuple[List[Any], str]]:
    """Every graph tensor: shape (ints or dynamic dim names) and dtype."""
    c, d, layers = config, config.d_model, config.n_layers
    return {
        "ts": (["batch", "ts_rows", c.ts_columns], "float32"),
        "ts_mask": (["batch", "ts_rows"], "float32"),
        "image": (["batch", c.image_channels, c.image_size, c.image_size], "float32"),
        "note": (["batch", "note_tokens", c.note_dim], "float32"),
        "note_mask": (["batch", "note_tokens"], "float32"),
        "presence": (["batch", 3], "float32"),
        "task_ids": (["batch", "tasks"], "int64"),
        "task_table": ([c.task_embeddings, d], "float32"),
        "image_states": (["batch", layers + 1, c.image_positions, d], "float32"),
        "note_states": (["batch", layers + 1, "note_tokens_plus_cls", d], "float32"),
        "logits": (["batch", "tasks", c.max_outputs], "float32"),
        "probs": (["batch", "tasks", c.max_outputs], "float32"),
        "s_p": (["batch", "tasks", 2 * d], "float32"),
        "alpha": (["batch", "tasks", len(COMBINATIONS)], "float32"),
        "gates": (["batch", "tasks", len(COMBINATIONS), c.n_experts], "float32"),
    }


GRAPHS = {
    "flexcare": (OneGraph, ("ts", "ts_mask", "image", "note", "note_mask", "presence", "task_ids", "task_table"),
                 OUTPUT_NAMES),
    "image_tower": (ImageTower, ("image",), ("image_states",)),
    "note_tower": (NoteTower, ("note", "note_mask"), ("note_states",)),
    "step": (Step, ("ts", "ts_mask", "image_states", "note_states", "note_mask", "presence", "task_ids", "task_table"),
             OUTPUT_NAMES),
}


def graph_names(config: FlexCareConfig) -> List[str]:
    return list(GRAPHS) if config.mask_mode == "paper" else ["flexcare"]


def example_inputs(model: FlexCare, batch: int = 2, rows: int = 7, tokens: int = 5, tasks: int = 3,
                   seed: int = 0) -> Dict[str, Tensor]:
    """Deterministic inputs covering padding and missing modalities (sample 1 has no image and
    fewer rows and tokens), plus the tower states of those inputs."""
    c = model.config
    g = torch.Generator().manual_seed(seed)
    ids = [t.id for t in c.tasks]
    x = {
        "ts": torch.randn(batch, rows, c.ts_columns, generator=g),
        "ts_mask": torch.ones(batch, rows),
        "image": torch.randn(batch, c.image_channels, c.image_size, c.image_size, generator=g),
        "note": torch.randn(batch, tokens, c.note_dim, generator=g),
        "note_mask": torch.ones(batch, tokens),
        "presence": torch.ones(batch, 3),
        "task_ids": torch.tensor([[ids[(b + k) % len(ids)] for k in range(tasks)] for b in range(batch)]),
        "task_table": model.task_embedding.weight.detach().clone(),  # (R, d)
    }
    if batch > 1:
        x["ts_mask"][1, rows // 2:] = 0
        x["ts"][1, rows // 2:] = 0
        x["note_mask"][1, tokens // 2:] = 0
        x["note"][1, tokens // 2:] = 0
        x["presence"][1, 1] = 0
        x["image"][1] = 0
    if c.mask_mode == "paper":
        with torch.no_grad():
            x["image_states"] = model.image_tower(x["image"])
            x["note_states"] = model.note_tower(x["note"], x["note_mask"])
    return x


def export_graph(model: FlexCare, name: str, out_dir: str, inputs: Dict[str, Tensor]) -> str:
    wrapper, in_names, out_names = GRAPHS[name]
    specs = tensor_specs(model.config)
    dynamic = {n: {i: dim for i, dim in enumerate(specs[n][0]) if isinstance(dim, str)}
               for n in (*in_names, *out_names)}
    path = os.path.join(out_dir, f"{name}.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notes on constants (the mask tables) and on skipped constant folding.
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper(model).eval(), tuple(inputs[n] for n in in_names), path,
                          input_names=list(in_names), output_names=list(out_names),
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=False)
    graph = onnx.load(path)
    declare_shapes(graph, specs)
    onnx.checker.check_model(graph)
    onnx.save(graph, path)
    return path


def declare_shapes(graph: onnx.ModelProto, specs: Dict[str, Tuple[List[Any], str]]) -> None:
    """Writes the manifest's shapes onto the graph's inputs and outputs (the exporter's shape
    inference leaves some static sizes, such as the head width, as generated names)."""
    for value in list(graph.graph.input) + list(graph.graph.output):
        shape = value.type.tensor_type.shape
        wanted = specs[value.name][0]
        while len(shape.dim) > len(wanted):
            shape.dim.pop()
        while len(shape.dim) < len(wanted):
            shape.dim.add()
        for dim, want in zip(shape.dim, wanted):
            if isinstance(want, int):
                dim.Clear()
                dim.dim_value = want
            else:
                dim.Clear()
                dim.dim_param = want


def run_graph(model: FlexCare, name: str, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The PyTorch result of one graph, by output name."""
    wrapper, in_names, out_names = GRAPHS[name]
    with torch.no_grad():
        res = wrapper(model).eval()(*(inputs[n] for n in in_names))
    res = res if isinstance(res, tuple) else (res,)
    return dict(zip(out_names, res))


def tensor_json(tensors: Dict[str, Tensor]) -> Dict[str, Any]:
    out = {}
    for name, t in tensors.items():
        a = t.detach().cpu().numpy()
        dtype = "int64" if a.dtype == np.int64 else "float32"
        out[name] = {"dims": list(a.shape), "dtype": dtype,
                     "data": a.astype(np.int64 if dtype == "int64" else np.float32).reshape(-1).tolist()}
    return out


def write_parity(model: FlexCare, out_dir: str, inputs: Optional[Dict[str, Tensor]] = None) -> Dict[str, Dict[str, str]]:
    """parity/<graph>.inputs.json and .outputs.json for every graph of the model's mode."""
    inputs = inputs or example_inputs(model)
    folder = os.path.join(out_dir, "parity")
    os.makedirs(folder, exist_ok=True)
    files = {}
    for name in graph_names(model.config):
        _, in_names, _ = GRAPHS[name]
        outputs = run_graph(model, name, inputs)
        files[name] = {"inputs": f"parity/{name}.inputs.json", "outputs": f"parity/{name}.outputs.json"}
        with open(os.path.join(out_dir, files[name]["inputs"]), "w", encoding="utf-8") as f:
            json.dump(tensor_json({n: inputs[n] for n in in_names}), f)
        with open(os.path.join(out_dir, files[name]["outputs"]), "w", encoding="utf-8") as f:
            json.dump(tensor_json(outputs), f)
    return files


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_task_table(model: FlexCare, out_dir: str) -> Dict[str, Any]:
    """task_table.json: the model's task-embedding table (R, d) as a named-tensor document, the
    value to feed as the graphs' task_table input. Returns its manifest entry."""
    path = os.path.join(out_dir, TASK_TABLE_FILE)
    table = model.task_embedding.weight.detach().cpu().float()
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tensor_json({"task_table": table})["task_table"], f)
    return {"file": TASK_TABLE_FILE, "sha256": sha256(path), "bytes": os.path.getsize(path),
            "shape": list(table.shape), "dtype": "float32"}


def manifest(model: FlexCare, out_dir: str, checkpoint: Optional[Dict[str, Any]] = None,
             parity: Optional[Dict[str, Dict[str, str]]] = None, source: str = "trained",
             task_table: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The model directory's contract (shared/spec/architecture.md)."""
    c = model.config
    specs = tensor_specs(c)
    ckpt = checkpoint or {}
    store = (ckpt.get("store") or {}).get("meta") or {}
    graphs = {}
    for name in graph_names(c):
        _, in_names, out_names = GRAPHS[name]
        path = os.path.join(out_dir, f"{name}.onnx")
        graphs[name] = {
            "file": f"{name}.onnx", "sha256": sha256(path), "bytes": os.path.getsize(path), "opset": OPSET,
            "inputs": [{"name": n, "shape": specs[n][0], "dtype": specs[n][1]} for n in in_names],
            "outputs": [{"name": n, "shape": specs[n][0], "dtype": specs[n][1]} for n in out_names],
        }
    history = ckpt.get("history") or []
    best_epoch = ckpt.get("best_epoch")
    metrics_path = ckpt.get("_metrics_path")
    metrics = {}
    if metrics_path and os.path.exists(metrics_path):
        with open(metrics_path, encoding="utf-8") as f:
            metrics = {"test": json.load(f).get("test", {})}
    best = [h for h in history if h.get("epoch") == best_epoch]
    if best:
        metrics["validation"] = {code: {k[4:]: v for k, v in t.items() if k.startswith("val_")}
                                 for code, t in best[0]["tasks"].items()}
    ts_meta = store.get("timeseries") or {}
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "created_by": CREATED_BY,
        "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mask_mode": c.mask_mode,
        "precision": "float32",
        "staged": c.mask_mode == "paper",
        "tasks": [{
            "code": t.code, "id": t.id, "kind": t.kind, "outputs": t.outputs, "labels": list(t.labels),
            "activation": "softmax" if t.kind == "multiclass" else "sigmoid", "head": t.param_name,
            "loss_weight": t.weight,
        } for t in c.tasks],
        "combinations": ["".join(comb) for comb in COMBINATIONS],
        "graphs": graphs,
        "task_table": task_table,
        "outputs": {
            "logits": "per task token: the head of task_ids[b, k] in its first `outputs` columns, zero beyond",
            "probs": "sigmoid (binary, multilabel) or softmax over the head's classes (multiclass), zero beyond",
            "s_p": "patient representation [z_task || LayerNorm(sum alpha_c s_c)] (Eq. 12)",
            "alpha": "fusion weights over `combinations`; 0 for combinations with a missing modality",
            "gates": "top-k expert gates of each combination (depend on the task); 0 when not routed",
            "image_states": "state of the image tokens entering each layer, then the final output",
            "note_states": "state of the note tokens (CLS first) entering each layer, then the final output",
        },
        "inputs": {
            "ts": "standardized 76-column hourly rows (at most the last 512), zero-padded at the end",
            "ts_mask": "1 for real rows, 0 for padding; T >= 1 (one zero row when there is no time series)",
            "image": "ImageNet-normalized RGB; zeros when absent",
            "note": "note token embeddings of the manifest's note encoder; N >= 1",
            "note_mask": "1 for real tokens, 0 for padding",
            "presence": "1 when the modality is present: [time series, image, note]; at least one",
            "task_ids": "task ids (see `tasks`); several per sample share one pass",
            "task_table": "task-embedding table (rows = task ids): feed task_table.json; a new task's "
                          "token goes into a free row",
        },
        "config": c.to_dict(),
        "timeseries": {k: ts_meta[k] for k in ("columns", "max_rows", "header") if k in ts_meta}
        or {"columns": c.ts_columns, "max_rows": 512},
        "normalizer": ts_meta.get("normalizer"),
        "image": store.get("image") or {"shape": [c.image_channels, c.image_size, c.image_size],
                                        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "note_encoder": (store.get("note") or {}).get("encoder") or {"kind": "hashed", "dim": c.note_dim},
        "note_max_tokens": (store.get("note") or {}).get("max_tokens", 512),
        "training": {
            "source": source,
            "data": store.get("source"),
            "store_created_by": store.get("created_by"),
            "splits": store.get("splits"),
            "epochs": ckpt.get("epoch"),
            "best_epoch": best_epoch,
            "seed": ckpt.get("seed"),
        },
        "metrics": metrics,
        "parity": parity or {},
    }


def export_model(model: FlexCare, out_dir: str, checkpoint: Optional[Dict[str, Any]] = None,
                 parity: bool = False, source: str = "trained") -> Dict[str, Any]:
    """Writes every graph of the model's mode, optional parity fixtures and manifest.json."""
    model = model.eval()
    os.makedirs(out_dir, exist_ok=True)
    inputs = example_inputs(model)
    for name in graph_names(model.config):
        export_graph(model, name, out_dir, inputs)
    table = write_task_table(model, out_dir)
    # Other sizes than the traced ones, so parity also checks the dynamic dimensions.
    files = None
    if parity:
        x = example_inputs(model, batch=3, rows=4, tokens=3, tasks=2, seed=1)
        # A table other than the weights, so parity shows the graphs read their task_table input.
        x["task_table"] = x["task_table"] + 0.1 * torch.randn(x["task_table"].shape, generator=torch.Generator().manual_seed(2))
        files = write_parity(model, out_dir, x)
    doc = manifest(model, out_dir, checkpoint, files, source, table)
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
    return doc


def load_checkpoint(path: str) -> Tuple[FlexCare, Dict[str, Any]]:
    ckpt = torch.load(path, map_location="cpu")
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise ValueError(f'"{path}" is not a flexcare_torch checkpoint (for reference state dicts use import_checkpoint)')
    model = FlexCare(FlexCareConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    ckpt["_metrics_path"] = os.path.join(os.path.dirname(os.path.abspath(path)), "metrics.json")
    return model, ckpt


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="flexcare_torch.export", description="Export a FlexCare checkpoint to ONNX")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a checkpoint written by flexcare_torch.train (best.pt)")
    src.add_argument("--random-init", metavar="CONFIG_JSON",
                     help="an untrained model with these FlexCareConfig overrides (for tests)")
    p.add_argument("--out", required=True)
    p.add_argument("--parity", action="store_true", help="also write parity/ fixtures")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.checkpoint:
        model, ckpt = load_checkpoint(args.checkpoint)
        source = "trained"
    else:
        torch.manual_seed(args.seed)
        model, ckpt, source = FlexCare(FlexCareConfig.from_dict(json.loads(args.random_init))), None, "random-init"
        randomize_gates(model, args.seed)
    doc = export_model(model, args.out, ckpt, args.parity, source)
    print(json.dumps({"out": args.out, "graphs": {n: g["file"] for n, g in doc["graphs"].items()}}))
    return 0


def randomize_gates(model: FlexCare, seed: int) -> None:
    """Untrained test models: give the zero-initialised router weights random values so that
    expert choice depends on the input (parity tests then exercise the routing)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in (model.moe.w_gate, model.moe.task_gate):
            p.copy_(torch.randn(p.shape, generator=g))


if __name__ == "__main__":
    sys.exit(main())
