"""Every size of the FlexCare model in one place (see ../../../../shared/spec/model.md).

Nothing here does work at import time; layers read their sizes from a `FlexCareConfig`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

MASK_MODES = ("paper", "reference")
TASK_KINDS = ("binary", "multilabel", "multiclass")

# Reference-code head names, so reference state dicts load unchanged. A task not listed
# here (a new task with a free id) gets `dense_layer_<code>`.
REFERENCE_HEAD_NAMES = {
    "ihm": "dense_layer_mortality",
    "dec": "dense_layer_decomp",
    "phe": "dense_layer_ph",
    "los": "dense_layer_los",
    "rea": "dense_layer_readm",
    "dia": "dense_layer_diag",
    "drg": "dense_layer_drg",
}

# Modality-combination order used for alpha and gates (the reference code's order of the 7
# fused tokens): the 4 free combination tokens first, then the 3 modality CLS tokens.
COMBINATIONS: Tuple[Tuple[str, ...], ...] = (
    ("t", "i", "n"), ("t", "i"), ("t", "n"), ("i", "n"), ("t",), ("i",), ("n",),
)
MODALITIES = ("t", "i", "n")  # time series, image, note


@dataclass(frozen=True)
class TaskHead:
    """One task: its task-embedding id, label shape and loss weight."""

    code: str
    id: int
    kind: str
    outputs: int
    weight: float = 1.0
    labels: Tuple[str, ...] = ()

    @property
    def param_name(self) -> str:
        return REFERENCE_HEAD_NAMES.get(self.code, f"dense_layer_{self.code}")

    def validate(self, task_embeddings: int) -> None:
        if self.kind not in TASK_KINDS:
            raise ValueError(f'Task "{self.code}": kind "{self.kind}" is not one of {TASK_KINDS}')
        if not 0 <= self.id < task_embeddings:
            raise ValueError(f'Task "{self.code}": id {self.id} is outside 0..{task_embeddings - 1}')
        if self.outputs < 1 or (self.kind == "binary" and self.outputs != 1):
            raise ValueError(f'Task "{self.code}": {self.outputs} outputs do not fit kind "{self.kind}"')


# The paper's six benchmark tasks with Appendix A.4's task weights. DRG is added by the
# trainer when the tensor store has it (its classes come from the data).
PAPER_TASKS: Tuple[TaskHead, ...] = (
    TaskHead("ihm", 0, "binary", 1, 0.2),
    TaskHead("dec", 1, "binary", 1, 0.2),
    TaskHead("phe", 2, "multilabel", 25, 1.0),
    TaskHead("los", 3, "multiclass", 10, 0.5),
    TaskHead("rea", 4, "binary", 1, 0.2),
    TaskHead("dia", 5, "multilabel", 14, 0.2),
)
# Task weights of Appendix A.4 by code; DRG (not in the table) and new tasks default to 1.
PAPER_TASK_WEIGHTS = {t.code: t.weight for t in PAPER_TASKS}


@dataclass(frozen=True)
class FlexCareConfig:
    """Sizes and switches of the FlexCare backbone. Defaults are the paper's."""

    # Hidden size d of every token (Sec. 5.1.2: 128).
    d_model: int = 128
    # Attention heads per layer; the reference uses 2 (head size 64).
    n_heads: int = 2
    # Transformer layers of the masked encoder (Eq. 2-3).
    n_layers: int = 4
    # Feed-forward width = ff_mult * d (nn.TransformerEncoderLayer(dim_feedforward=4d)).
    ff_mult: int = 4
    # nn.TransformerEncoderLayer's default dropout, which the reference code trains with.
    dropout: float = 0.1
    # LayerNorm epsilon of the encoder layers and the fusion LayerNorm (PyTorch default).
    layer_norm_eps: float = 1e-5
    # Mixture of experts (Eq. 8-10): 10 experts, each token routed to its top 2.
    n_experts: int = 10
    top_k: int = 2
    # Minimum noise std of the noisy gating (Shazeer et al. 2017), training only.
    noise_epsilon: float = 1e-2
    # Time series: the 76 columns of features.md (discretized, one-hot, masks).
    ts_columns: int = 76
    # Learned positions for time-series rows and note tokens: 600 > 512 rows/tokens kept.
    ts_positions: int = 600
    note_positions: int = 600
    # Image: 224x224 RGB split into 16x16 patches -> 196 patch tokens + CLS = 197 positions.
    image_size: int = 224
    image_channels: int = 3
    patch_size: int = 16
    # Width of the note token embeddings: 768 for BioBERT's last hidden states; the built-in
    # hashed encoder's width comes from the tensor store (store.json note.encoder.dim).
    note_dim: int = 768
    # Rows of the task-embedding table: 40 in the reference, so new tasks take free ids.
    task_embeddings: int = 40
    # Softmax temperature of the task-guided fusion weights (Eq. 12).
    temperature: float = 0.2
    # Weight of the token-decorrelation loss in each step's loss (Algorithm 1: 0.5).
    decorrelation_beta: float = 0.5
    # Coefficient of the MoE load-balancing loss (Shazeer et al. 2017; reference 1e-2).
    balance_coef: float = 0.01
    # "paper": Eq. 4 with -inf for disallowed pairs. "reference": the reference code's
    # additive 0/1 float mask (needed for checkpoints trained with it; no staged graphs).
    mask_mode: str = "paper"
    # Task heads (ids, kinds, sizes, loss weights).
    tasks: Tuple[TaskHead, ...] = PAPER_TASKS

    def __post_init__(self) -> None:
        if self.mask_mode not in MASK_MODES:
            raise ValueError(f'mask_mode "{self.mask_mode}" is not one of {MASK_MODES}')
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.image_size % self.patch_size != 0:
            raise ValueError(f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")
        if not 1 <= self.top_k <= self.n_experts:
            raise ValueError(f"top_k {self.top_k} is outside 1..{self.n_experts}")
        if not self.tasks:
            raise ValueError("At least one task head is needed")
        seen = set()
        for task in self.tasks:
            task.validate(self.task_embeddings)
            if task.id in seen:
                raise ValueError(f'Task id {task.id} is used twice')
            seen.add(task.id)

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def image_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def image_positions(self) -> int:
        return self.image_patches + 1  # CLS + patches

    @property
    def max_outputs(self) -> int:
        return max(t.outputs for t in self.tasks)

    def task(self, code: str) -> TaskHead:
        for t in self.tasks:
            if t.code == code:
                return t
        raise KeyError(f'Unknown task "{code}"; known: {[t.code for t in self.tasks]}')

    def replace(self, **changes: Any) -> "FlexCareConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> Dict[str, Any]:
        out = dataclasses.asdict(self)
        out["tasks"] = [dataclasses.asdict(t) for t in self.tasks]
        for t in out["tasks"]:
            t["labels"] = list(t["labels"])
        return out

    @staticmethod
    def from_dict(data: Dict[str, Any]) -> "FlexCareConfig":
        data = dict(data)
        tasks = tuple(
            TaskHead(**{**t, "labels": tuple(t.get("labels", ()))}) for t in data.pop("tasks", [])
        )
        return FlexCareConfig(**data, **({"tasks": tasks} if tasks else {}))
