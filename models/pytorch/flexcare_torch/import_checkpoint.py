"""Takes over a state dict saved by the reference FlexCare code and exports it.

    python3 -m flexcare_torch.import_checkpoint STATE_DICT.pt --out DIR [--parity]
        [--n-heads 2] [--save-checkpoint imported.pt]

The sizes are read from the tensors' shapes (d, layers, experts, positions, note width, heads);
the attention head count is not stored and defaults to the reference's 2. The model runs in
`mask_mode="reference"` (the reference's additive 0/1 mask), so only the one graph
`flexcare.onnx` is exported: that mask lets every token see the task token, which rules out
caching tower states. Dropped keys (printed): the unused `encoder_layer_fusion.*` duplicate,
BioBERT's `note_projection.*`, the MoE's `mean`/`std` buffers and the reference's DRG head.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, Dict, Optional, Sequence

import torch

from .config import PAPER_TASKS, FlexCareConfig, TaskHead
from .export import export_model
from .model import FlexCare, load_reference_state_dict


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    obj = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or "task_embedding.weight" not in obj:
        raise ValueError(f'"{path}" is not a FlexCare reference state dict (no task_embedding.weight)')
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def config_from_state_dict(state: Dict[str, torch.Tensor], n_heads: int = 2) -> FlexCareConfig:
    """Sizes from the tensor shapes; heads of the paper's tasks whose weights are present."""
    rows, d = state["task_embedding.weight"].shape
    layers = 1 + max(int(m.group(1)) for k in state
                     for m in [re.match(r"transformer_fusion\.layers\.(\d+)\.", k)] if m)
    tasks = []
    for t in PAPER_TASKS:
        w = state.get(f"{t.param_name}.weight")
        if w is not None and w.shape[1] == 2 * d:
            tasks.append(TaskHead(t.code, t.id, t.kind, int(w.shape[0]), t.weight))
    patch = state["patch_projection.proj.weight"]
    return FlexCareConfig(
        d_model=int(d), n_heads=n_heads, n_layers=layers, task_embeddings=int(rows),
        ff_mult=int(state["transformer_fusion.layers.0.linear1.weight"].shape[0]) // int(d),
        n_experts=int(state["moe.w_gate"].shape[1]), ts_columns=int(state["ehr_projection.weight"].shape[1]),
        ts_positions=int(state["ehr_pos_embed"].shape[1]), note_positions=int(state["note_pos_embed"].shape[1]),
        note_dim=int(state["note_fc.weight"].shape[1]), image_channels=int(patch.shape[1]),
        patch_size=int(patch.shape[2]),
        image_size=int(round((state["cxr_pos_embed"].shape[1] - 1) ** 0.5)) * int(patch.shape[2]),
        mask_mode="reference", tasks=tuple(tasks),
    )


def import_reference(path: str, n_heads: int = 2) -> FlexCare:
    state = read_state_dict(path)
    model = FlexCare(config_from_state_dict(state, n_heads))
    dropped = load_reference_state_dict(model, state)
    if dropped:
        prefixes = sorted({k.split(".")[0] for k in dropped})
        print(f"ignored {len(dropped)} reference keys under {prefixes}", file=sys.stderr)
    return model.eval()


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="flexcare_torch.import_checkpoint", description=__doc__.split("\n\n")[0])
    p.add_argument("state_dict", help="a .pt state dict saved by the reference code")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--n-heads", type=int, default=2, help="attention heads (not stored in a state dict)")
    p.add_argument("--parity", action="store_true", help="also write parity/ fixtures")
    p.add_argument("--save-checkpoint", help="also save a flexcare_torch checkpoint (to fine-tune with train)")
    args = p.parse_args(argv)
    model = import_reference(args.state_dict, args.n_heads)
    ckpt: Dict[str, Any] = {"config": model.config.to_dict(), "model": model.state_dict(), "epoch": 0,
                            "store": {"meta": {"source": {"reference_state_dict": args.state_dict}}}}
    if args.save_checkpoint:
        torch.save(ckpt, args.save_checkpoint)
    doc = export_model(model, args.out, ckpt, args.parity, source="reference-import")
    print(json.dumps({"out": args.out, "graphs": {n: g["file"] for n, g in doc["graphs"].items()},
                      "tasks": [t["code"] for t in doc["tasks"]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
