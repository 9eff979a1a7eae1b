"""FlexCare (Xu et al., KDD 2024), as restated in shared/spec/model.md.

Token sequence (Sec. 4.2.2), in the reference code's order:
    [task, c{t,i,n}, c{t,i}, c{t,n}, c{i,n}, ts CLS + rows, image CLS + patches, note CLS + tokens]
The 7 combination tokens are the 4 free tokens plus the 3 modality CLS tokens.

Which pair may attend (the reference code's `generate_cross_modal_mask`, shared by both modes):
- the task token attends to every token;
- a free combination token attends to itself and to the non-CLS tokens of its modalities;
- a modality CLS token attends to its own modality (CLS and tokens);
- a modality token attends to the non-CLS tokens of its own modality.
`mask_mode="paper"` (Eq. 4): other pairs, padding and missing modalities get -inf and every
token may attend to itself (a fully masked row stays finite). Nothing attends to the task token,
so the modality streams and combination tokens never depend on the task, and each modality's
stream is independent of the others: `forward` computes them as separate streams
(`modality_stream`), which is also what the image/note towers and the step graph export.
`mask_mode="reference"`: the reference code's float 0/1 mask, ADDED to the logits
(disallowed pairs get +1), padding -inf; one dense sequence per task token (`forward_dense`).
"""
from __future__ import annotations

import math
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import COMBINATIONS, MODALITIES, FlexCareConfig

NEG_INF = float("-inf")


class FlexCareOutput(NamedTuple):
    """Per task token k of each sample b."""

    logits: Tensor  # (B, K, max_outputs): the head of task_ids[b, k]; columns past its size are 0
    probs: Tensor  # (B, K, max_outputs): sigmoid (binary, multi-label) or softmax (multi-class)
    s_p: Tensor  # (B, K, 2d): patient representation (Eq. 12)
    alpha: Tensor  # (B, K, 7): fusion weights over COMBINATIONS, absent = 0
    gates: Tensor  # (B, K, 7, n_experts): expert gates of each combination, absent = 0
    decorrelation: Tensor  # scalar, Eq. 5-7 (0 outside training)
    balance: Tensor  # scalar, MoE load-balancing loss x balance_coef (0 outside training)


# ----------------------------------------------------------------------------------------------
# Unimodal tokenizers (Eq. 1)


class PatchEmbed(nn.Module):
    """16x16 stride-16 convolution: image (B, 3, H, W) -> patch tokens (B, HW/256, d)."""

    def __init__(self, config: FlexCareConfig):
        super().__init__()
        self.image_size = config.image_size
        self.proj = nn.Conv2d(config.image_channels, config.d_model,
                              kernel_size=config.patch_size, stride=config.patch_size)

    def forward(self, image: Tensor) -> Tensor:
        if not torch.jit.is_tracing() and (
                image.dim() != 4 or image.shape[-1] != self.image_size or image.shape[-2] != self.image_size):
            raise ValueError(f"Expected images (B, C, {self.image_size}, {self.image_size}), got {tuple(image.shape)}")
        x = self.proj(image)  # (B, d, H/P, W/P)
        return x.flatten(2).transpose(1, 2)  # (B, N_patches, d)


# ----------------------------------------------------------------------------------------------
# Masked transformer encoder (Eq. 2-3), parameter names of nn.TransformerEncoderLayer


class MaskedSelfAttention(nn.Module):
    """Multi-head attention with an additive bias; names match nn.MultiheadAttention."""

    def __init__(self, config: FlexCareConfig):
        super().__init__()
        d = config.d_model
        self.n_heads = config.n_heads
        self.head_dim = config.head_dim
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        self.dropout = nn.Dropout(config.dropout)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def split_heads(self, x: Tensor) -> Tensor:
        b, s = x.shape[0], x.shape[1]
        return x.reshape(b, s, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, S, hd)

    def forward(self, x: Tensor, bias: Tensor, memory: Optional[Tensor] = None,
                memory_kv: Optional[Tensor] = None, kv_out: Optional[List[Tensor]] = None) -> Tensor:
        """x: queries (B, Q, d); keys/values are cat(x, memory) (B, Q+M, d);
        bias: (B, 1, Q, Q+M) added to the logits (0 allowed, -inf or +1 otherwise).
        Eager-mode shortcuts (training speed, same numbers): `memory_kv` (B, M, 2d) is the key/value
        projection of `memory` computed earlier (the streams' own projections, reused by the
        queries); `kv_out` receives this call's key/value projection of x (B, Q, 2d)."""
        d = x.shape[-1]
        w_q, w_kv = self.in_proj_weight[:d], self.in_proj_weight[d:]
        b_q, b_kv = self.in_proj_bias[:d], self.in_proj_bias[d:]
        q = F.linear(x, w_q, b_q)  # (B, Q, d)
        if memory_kv is not None or kv_out is not None:
            kv = F.linear(x, w_kv, b_kv)  # (B, Q, 2d)
            if kv_out is not None:
                kv_out.append(kv)
            if memory_kv is not None:
                kv = torch.cat([kv, memory_kv], dim=1)  # (B, Q+M, 2d)
            elif memory is not None:
                kv = torch.cat([kv, F.linear(memory, w_kv, b_kv)], dim=1)
            k, v = kv.chunk(2, dim=-1)  # 2 x (B, Q+M, d)
        else:
            src = x if memory is None else torch.cat([x, memory], dim=1)  # (B, Q+M, d)
            k, v = F.linear(src, w_kv, b_kv).chunk(2, dim=-1)  # 2 x (B, Q+M, d)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        logits = torch.matmul(q / math.sqrt(self.head_dim), k.transpose(-2, -1)) + bias  # (B, H, Q, Q+M)
        weights = self.dropout(torch.softmax(logits, dim=-1))
        out = torch.matmul(weights, v)  # (B, H, Q, hd)
        out = out.transpose(1, 2).reshape(x.shape[0], x.shape[1], d)  # (B, Q, d)
        return self.out_proj(out)


class FusionLayer(nn.Module):
    """Post-norm encoder layer (Eq. 2-3), as nn.TransformerEncoderLayer(norm_first=False)."""

    def __init__(self, config: FlexCareConfig):
        super().__init__()
        d, ff = config.d_model, config.ff_mult * config.d_model
        self.self_attn = MaskedSelfAttention(config)
        self.linear1 = nn.Linear(d, ff)
        self.linear2 = nn.Linear(ff, d)
        self.norm1 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.norm2 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        self.dropout1 = nn.Dropout(config.dropout)
        self.dropout2 = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, bias: Tensor, memory: Optional[Tensor] = None,
                memory_kv: Optional[Tensor] = None, kv_out: Optional[List[Tensor]] = None) -> Tensor:
        x = self.norm1(x + self.dropout1(self.self_attn(x, bias, memory, memory_kv, kv_out)))  # Eq. 2
        ff = self.linear2(self.dropout(F.relu(self.linear1(x))))
        return self.norm2(x + self.dropout2(ff))  # Eq. 3


class FusionEncoder(nn.Module):
    """The 4 layers; state-dict names `transformer_fusion.layers.N.*` as nn.TransformerEncoder."""

    def __init__(self, config: FlexCareConfig):
        super().__init__()
        self.layers = nn.ModuleList([FusionLayer(config) for _ in range(config.n_layers)])

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x, bias)
        return x


# ----------------------------------------------------------------------------------------------
# Task/modality-aware mixture of experts (Eq. 8-10)


class Expert(nn.Module):
    """d -> d -> d MLP with ReLU."""

    def __init__(self, config: FlexCareConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, config.d_model)
        self.fc2 = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.relu(self.fc1(x)))


def cv_squared(x: Tensor) -> Tensor:
    """Squared coefficient of variation over experts (unbiased variance, as the reference)."""
    if x.shape[0] == 1:
        return x.new_zeros(())
    x = x.float()
    return x.var() / (x.mean() ** 2 + 1e-10)


class TaskModalityMoE(nn.Module):
    """Router logits = z_c W_gate + z_task W_task (Eq. 8), top-k softmax gates (Eq. 9),
    gated sum of expert outputs (Eq. 10). Noisy gating and the balance loss in training only."""

    def __init__(self, config: FlexCareConfig):
        super().__init__()
        d, e = config.d_model, config.n_experts
        self.k = config.top_k
        self.n_experts = e
        self.noise_epsilon = config.noise_epsilon
        self.balance_coef = config.balance_coef
        self.experts = nn.ModuleList([Expert(config) for _ in range(e)])
        # Zero-initialised like the reference (and Shazeer et al.): the noise breaks the ties.
        self.w_gate = nn.Parameter(torch.zeros(d, e))
        self.w_noise = nn.Parameter(torch.zeros(d, e))
        self.task_gate = nn.Parameter(torch.zeros(d, e))

    def forward(self, z_comb: Tensor, z_task: Tensor, routed: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """z_comb (B, C, d), z_task (B, K, d), routed (B, C) bool: combinations whose modalities
        are all present. Returns outputs (B, K, C, d), gates (B, K, C, E), balance loss ()."""
        clean = (z_comb @ self.w_gate).unsqueeze(1) + (z_task @ self.task_gate).unsqueeze(2)  # (B, K, C, E), Eq. 8
        noisy = self.training and self.k < self.n_experts
        if noisy:
            noise_std = F.softplus(z_comb @ self.w_noise).unsqueeze(1) + self.noise_epsilon  # (B, 1, C, E)
            logits = clean + torch.randn_like(clean) * noise_std
        else:
            logits = clean
        top_logits, top_idx = logits.topk(min(self.k + 1, self.n_experts), dim=-1)  # (B, K, C, k+1)
        top_gates = torch.softmax(top_logits[..., :self.k], dim=-1)  # Eq. 9
        gates = torch.zeros_like(logits).scatter(-1, top_idx[..., :self.k], top_gates)  # (B, K, C, E)
        gates = gates * routed.unsqueeze(1).unsqueeze(-1).to(gates.dtype)
        # Every expert on every combination token (cheap at d=128); the zero gates drop the rest.
        expert_out = torch.stack([expert(z_comb) for expert in self.experts], dim=2)  # (B, C, E, d)
        out = torch.matmul(gates.unsqueeze(-2), expert_out.unsqueeze(1))[..., 0, :]  # Eq. 10, (B, K, C, d)
        balance = z_comb.new_zeros(())
        if self.training:
            r = routed.unsqueeze(1).expand(gates.shape[:3]).reshape(-1)  # (B*K*C,)
            if bool(r.any()):
                flat_gates = gates.reshape(-1, self.n_experts)[r]
                importance = flat_gates.sum(0)
                if noisy:
                    load = self._prob_in_top_k(clean, logits, noise_std.expand_as(clean), top_logits)
                    load = load.reshape(-1, self.n_experts)[r].sum(0)
                else:
                    load = (flat_gates > 0).sum(0).float()
                balance = (cv_squared(importance) + cv_squared(load)) * self.balance_coef
        return out, gates, balance

    def _prob_in_top_k(self, clean: Tensor, noisy: Tensor, noise_std: Tensor, top_noisy: Tensor) -> Tensor:
        """Probability that each expert is in the top k under fresh noise (Shazeer et al.)."""
        threshold_in = top_noisy[..., self.k:self.k + 1]  # (k+1)-th largest, (..., 1)
        threshold_out = top_noisy[..., self.k - 1:self.k]  # k-th largest
        is_in = noisy > threshold_in
        normal = torch.distributions.Normal(clean.new_zeros(()), clean.new_ones(()))
        prob_in = normal.cdf((clean - threshold_in) / noise_std)
        prob_out = normal.cdf((clean - threshold_out) / noise_std)
        return torch.where(is_in, prob_in, prob_out)


def decorrelation_loss(z_comb: Tensor) -> Tensor:
    """Eq. 5-7: z_comb (B, C, d). Centre each token over its d features, covariance between
    the C tokens (divide by d-1), squared off-diagonal sum / (C-1)^2, mean over the batch."""
    b, c, d = z_comb.shape
    x = z_comb - z_comb.mean(dim=2, keepdim=True)  # (B, C, d), Eq. 5
    cov = x @ x.transpose(1, 2) / (d - 1)  # (B, C, C), Eq. 6
    off = (cov ** 2).sum() - (torch.diagonal(cov, dim1=1, dim2=2) ** 2).sum()
    return off / (b * (c - 1) * (c - 1))  # Eq. 7


# ----------------------------------------------------------------------------------------------
# Masks (Eq. 4)


def stream_bias(valid: Tensor) -> Tensor:
    """Paper-mode bias inside one modality stream [CLS, tokens]: valid (B, S) bool keys.
    CLS attends to its modality, tokens to tokens; self always allowed. -> (B, 1, S, S)."""
    idx = positions(valid)
    q, k = idx.unsqueeze(1), idx.unsqueeze(0)  # (S, 1), (1, S)
    structure = (q == 0) | (k != 0)  # (S, S)
    allowed = (structure.unsqueeze(0) & valid.unsqueeze(1)) | (q == k).unsqueeze(0)  # (B, S, S)
    return torch.zeros_like(allowed, dtype=torch.float32).masked_fill(~allowed, NEG_INF).unsqueeze(1)


def combination_membership(device: torch.device) -> Tensor:
    """(4, 3) bool: which modality each free combination token covers."""
    table = [[float(m in comb) for m in MODALITIES] for comb in COMBINATIONS[:4]]
    return torch.tensor(table, device=device) > 0.5


def query_bias(valids: Sequence[Tensor], task_ids: Tensor) -> Tensor:
    """Paper-mode bias of the query tokens [4 combination tokens, K task tokens] over the keys
    [the same 4+K tokens, ts stream, image stream, note stream] -> (B, 1, 4+K, 4+K+S_t+S_i+S_n).
    Combination tokens: self + non-CLS tokens of their modalities; task tokens: self + the
    combination tokens + every valid modality token. Task tokens do not see each other."""
    device = task_ids.device
    is_task = torch.cat([torch.zeros(4, dtype=torch.bool, device=device),
                         torch.ones_like(task_ids[0], dtype=torch.bool)])  # (Q,)
    idx = torch.ones_like(is_task, dtype=torch.long).cumsum(0) - 1  # (Q,)
    own = (idx.unsqueeze(1) == idx.unsqueeze(0)) | (is_task.unsqueeze(1) & ~is_task.unsqueeze(0))  # (Q, Q)
    parts = [own.unsqueeze(0) & torch.ones_like(task_ids[:, :1], dtype=torch.bool).unsqueeze(2)]  # (B, Q, Q)
    member = combination_membership(device)  # (4, 3)
    for m, valid in enumerate(valids):
        not_cls = positions(valid) != 0  # (S,)
        comb = member[:, m].unsqueeze(1) & not_cls.unsqueeze(0)  # (4, S)
        task = is_task[4:].unsqueeze(1) & torch.ones_like(not_cls).unsqueeze(0)  # (K, S)
        rows = torch.cat([comb, task], dim=0)  # (Q, S)
        parts.append(rows.unsqueeze(0) & valid.unsqueeze(1))  # (B, Q, S)
    allowed = torch.cat(parts, dim=2)  # (B, Q, Q + S_all)
    return torch.zeros_like(allowed, dtype=torch.float32).masked_fill(~allowed, NEG_INF).unsqueeze(1)


def positions(valid: Tensor) -> Tensor:
    """(S,) long 0..S-1 for a (B, S) tensor (cumsum keeps S dynamic in exported graphs)."""
    return torch.ones_like(valid[0], dtype=torch.long).cumsum(0) - 1


def dense_structure(valid_t: Tensor, valid_i: Tensor, valid_n: Tensor) -> Tensor:
    """(S, S) bool: the reference code's allowed pairs (generate_cross_modal_mask == 0) over one
    full sequence [task, 4 combination tokens, ts, image, note]; valid_* give the stream lengths."""
    device = valid_t.device
    head = torch.tensor([0, 1, 1, 1, 1], dtype=torch.long, device=device)
    seg = torch.cat([head] + [torch.zeros_like(v[0], dtype=torch.long) + 2 + m
                              for m, v in enumerate((valid_t, valid_i, valid_n))])  # (S,)
    first = torch.cat([torch.zeros(5, dtype=torch.bool, device=device)] +
                      [positions(v) == 0 for v in (valid_t, valid_i, valid_n)])  # (S,) modality CLS
    pos = torch.ones_like(seg).cumsum(0) - 1  # (S,)
    q_seg, k_seg = seg.unsqueeze(1), seg.unsqueeze(0)  # (S, 1), (1, S)
    q_cls, k_cls = first.unsqueeze(1), first.unsqueeze(0)
    same_modality = (q_seg == k_seg) & (q_seg >= 2)
    allowed = (q_seg == 0) | (same_modality & (q_cls | ~k_cls))  # task row; within a modality
    member = torch.cat([torch.zeros(4, 2, dtype=torch.bool, device=device),
                        combination_membership(device)], dim=1)  # (4, 5): combination x segment
    rows = member[(pos - 1).clamp(0, 3)]  # (S, 5): the combination of each row (if any)
    covers = rows.gather(1, k_seg.expand(rows.shape[0], -1))  # (S, S): key's modality in row's combination
    comb = (q_seg == 1) & ((covers & ~k_cls) | (pos.unsqueeze(1) == pos.unsqueeze(0)))
    return allowed | comb


# ----------------------------------------------------------------------------------------------
# The model


class FlexCare(nn.Module):
    """Unimodal tokenizers, masked encoder, decorrelation, MoE, task-guided fusion, heads."""

    def __init__(self, config: FlexCareConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.task_embedding = nn.Embedding(config.task_embeddings, d)
        # Eq. 1: time series, linear 76 -> d per hourly row
        self.ehr_projection = nn.Linear(config.ts_columns, d)
        self.ehr_cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.ehr_pos_embed = nn.Parameter(torch.zeros(1, config.ts_positions, d))
        # Eq. 1: image, 16x16 patches
        self.patch_projection = PatchEmbed(config)
        self.cxr_cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.cxr_pos_embed = nn.Parameter(torch.zeros(1, config.image_positions, d))
        # Eq. 1: note, linear E -> d per token
        self.note_fc = nn.Linear(config.note_dim, d)
        self.note_cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.note_pos_embed = nn.Parameter(torch.zeros(1, config.note_positions, d))
        # Combination tokens: {t,i,n} and {t,i}, {t,n}, {i,n}
        self.mm_cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.cross_cls_tokens = nn.Parameter(torch.zeros(3, 1, d))
        self.transformer_fusion = FusionEncoder(config)
        self.moe = TaskModalityMoE(config)
        # Task-guided fusion (Eq. 11-12)
        self.mm_choose = nn.Linear(2 * d, d, bias=False)
        self.mm_choose2 = nn.Linear(d, 1, bias=False)
        self.mm_layernorm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        for task in config.tasks:
            setattr(self, task.param_name, nn.Linear(2 * d, task.outputs))
        # task id -> head index for the gather in task_outputs (eager forward rejects ids without
        # a head; an exported graph maps them to head 0, so callers use the manifest's ids)
        head_of_id = torch.zeros(config.task_embeddings, dtype=torch.long)
        for h, task in enumerate(config.tasks):
            head_of_id[task.id] = h
        self.register_buffer("head_of_id", head_of_id, persistent=False)
        self._init_tokens()

    def _init_tokens(self) -> None:
        # The reference leaves these at zero; a small normal start breaks the symmetry
        # between the combination tokens before the masks have shaped them.
        for p in (self.ehr_cls_token, self.ehr_pos_embed, self.cxr_cls_token, self.cxr_pos_embed,
                  self.note_cls_token, self.note_pos_embed, self.mm_cls_token, self.cross_cls_tokens):
            nn.init.trunc_normal_(p, std=0.02)

    # --- Eq. 1 ---------------------------------------------------------------------------------

    def embed_ts(self, ts: Tensor) -> Tensor:
        """(B, T, 76) -> (B, 1+T, d): CLS + rows with learned positions."""
        if torch.jit.is_tracing():
            pass
        elif ts.dim() != 3 or ts.shape[-1] != self.config.ts_columns:
            raise ValueError(f"Expected ts (B, T, {self.config.ts_columns}), got {tuple(ts.shape)}")
        elif ts.shape[1] > self.config.ts_positions:
            raise ValueError(f"{ts.shape[1]} time-series rows exceed {self.config.ts_positions} positions")
        x = self.ehr_projection(ts) + self.ehr_pos_embed[:, :ts.shape[1]]  # (B, T, d)
        return torch.cat([self.ehr_cls_token.expand(ts.shape[0], 1, -1), x], dim=1)  # (B, 1+T, d)

    def embed_image(self, image: Tensor) -> Tensor:
        """(B, 3, 224, 224) -> (B, 197, d)."""
        x = self.patch_projection(image)  # (B, 196, d)
        x = x + self.cxr_pos_embed[:, :x.shape[1]]  # reference: patches take positions 0..195
        cls = self.cxr_cls_token.expand(image.shape[0], 1, -1)  # (B, 1, d)
        return torch.cat([cls, x], dim=1)  # (B, 197, d)

    def embed_note(self, note: Tensor) -> Tensor:
        """(B, N, E) -> (B, 1+N, d)."""
        if torch.jit.is_tracing():
            pass
        elif note.dim() != 3 or note.shape[-1] != self.config.note_dim:
            raise ValueError(f"Expected note (B, N, {self.config.note_dim}), got {tuple(note.shape)}")
        elif note.shape[1] > self.config.note_positions:
            raise ValueError(f"{note.shape[1]} note tokens exceed {self.config.note_positions} positions")
        x = self.note_fc(note) + self.note_pos_embed[:, :note.shape[1]]  # (B, N, d)
        return torch.cat([self.note_cls_token.expand(note.shape[0], 1, -1), x], dim=1)  # (B, 1+N, d)

    def combination_tokens(self, batch: int) -> Tensor:
        tokens = torch.cat([self.mm_cls_token, self.cross_cls_tokens.reshape(1, 3, -1)], dim=1)  # (1, 4, d)
        return tokens.expand(batch, 4, -1)  # (B, 4, d)

    @staticmethod
    def key_valid(presence: Tensor, mask: Optional[Tensor], length: int) -> Tensor:
        """(B, 1+S) bool: CLS valid iff the modality is present, tokens iff present and unpadded."""
        present = presence > 0.5  # (B,)
        if mask is None:
            return present.unsqueeze(1).expand(presence.shape[0], length)
        rows = (mask > 0.5) & present.unsqueeze(1)  # (B, S)
        return torch.cat([present.unsqueeze(1), rows], dim=1)

    # --- paper mode: streams and queries ---------------------------------------------------------

    def modality_stream(self, x: Tensor, valid: Tensor, kvs: Optional[List[Tensor]] = None) -> Tensor:
        """Runs one modality's tokens through the encoder alone (paper mode: they only attend
        within the modality). x (B, S, d), valid (B, S) -> states (B, L+1, S, d): the input of
        each layer, then the final output. With `kvs`, each layer's key/value projection of its
        input (B, S, 2d) is appended to it (the queries reuse them in eager mode)."""
        bias = stream_bias(valid)
        states = [x]
        for layer in self.transformer_fusion.layers:
            x = layer(x, bias, kv_out=kvs)
            states.append(x)
        return torch.stack(states, dim=1)  # (B, L+1, S, d)

    def image_tower(self, image: Tensor) -> Tensor:
        """Image -> cached image states (B, L+1, 197, d)."""
        x = self.embed_image(image)
        valid = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        return self.modality_stream(x, valid)

    def note_tower(self, note: Tensor, note_mask: Tensor) -> Tensor:
        """Note token embeddings (B, N, E) + mask (B, N) -> cached note states (B, L+1, 1+N, d)."""
        x = self.embed_note(note)
        ones = torch.ones(note.shape[0], device=note.device)
        return self.modality_stream(x, self.key_valid(ones, note_mask, 0))

    def queries(self, streams: Sequence[Tensor], valids: Sequence[Tensor], task_ids: Tensor,
                stream_kvs: Optional[Sequence[Tensor]] = None) -> Tuple[Tensor, Tensor]:
        """Combination and task tokens through the layers, reading the cached stream states of
        each layer. Returns free combination outputs (B, 4, d) and task outputs (B, K, d).
        `stream_kvs` (eager mode): each stream's per-layer key/value projections (B, L, S, 2d),
        the projections of the same states, so the keys/values are not projected twice."""
        x = torch.cat([self.combination_tokens(task_ids.shape[0]), self.task_embedding(task_ids)], dim=1)  # (B, 4+K, d)
        bias = query_bias(valids, task_ids)
        for l, layer in enumerate(self.transformer_fusion.layers):
            if stream_kvs is not None:
                x = layer(x, bias, memory_kv=torch.cat([kv[:, l] for kv in stream_kvs], dim=1))
            else:
                memory = torch.cat([s[:, l] for s in streams], dim=1)  # (B, S_t+S_i+S_n, d)
                x = layer(x, bias, memory)
        return x[:, :4], x[:, 4:]

    def step(self, ts: Tensor, ts_mask: Tensor, image_states: Tensor, note_states: Tensor,
             note_mask: Tensor, presence: Tensor, task_ids: Tensor) -> FlexCareOutput:
        """The streaming step (paper mode): the time series plus cached tower states."""
        self._check_paper("step")
        valid_t = self.key_valid(presence[:, 0], ts_mask, 0)
        valid_i = self.key_valid(presence[:, 1], None, image_states.shape[2])
        valid_n = self.key_valid(presence[:, 2], note_mask, 0)
        ts_states = self.modality_stream(self.embed_ts(ts), valid_t)
        return self._fuse([ts_states, image_states, note_states], [valid_t, valid_i, valid_n], presence, task_ids)

    def _fuse(self, streams: List[Tensor], valids: List[Tensor], presence: Tensor, task_ids: Tensor,
              stream_kvs: Optional[List[Tensor]] = None) -> FlexCareOutput:
        free, z_task = self.queries(streams, valids, task_ids, stream_kvs)
        cls = torch.stack([s[:, -1, 0] for s in streams], dim=1)  # (B, 3, d): t, i, n CLS
        z_comb = torch.cat([free, cls], dim=1)  # (B, 7, d) in COMBINATIONS order
        return self.head(z_comb, z_task, presence, task_ids)

    # --- reference mode (and paper mode, densely, for tests) --------------------------------------

    def forward_dense(self, ts: Tensor, ts_mask: Tensor, image: Tensor, note: Tensor, note_mask: Tensor,
                      presence: Tensor, task_ids: Tensor, mask_mode: Optional[str] = None) -> FlexCareOutput:
        """One full sequence per task token with the mask of `mask_mode` (default: the config's)."""
        mode = mask_mode or self.config.mask_mode
        b, k = task_ids.shape[0], task_ids.shape[1]

        def per_task(x: Tensor) -> Tensor:  # (B, ...) -> (B*K, ...)
            return x.unsqueeze(1).expand(b, k, *x.shape[1:]).reshape(b * k, *x.shape[1:])

        xt, xi, xn = self.embed_ts(ts), self.embed_image(image), self.embed_note(note)
        valid_t = self.key_valid(presence[:, 0], ts_mask, 0)
        valid_i = self.key_valid(presence[:, 1], None, xi.shape[1])
        valid_n = self.key_valid(presence[:, 2], note_mask, 0)
        task = self.task_embedding(task_ids.reshape(b * k, 1))  # (B*K, 1, d)
        seq = torch.cat([task, per_task(torch.cat([self.combination_tokens(b), xt, xi, xn], dim=1))], dim=1)  # (B*K, S, d)
        one = torch.ones(b * k, 5, dtype=torch.bool, device=ts.device)
        valid = torch.cat([one, per_task(torch.cat([valid_t, valid_i, valid_n], dim=1))], dim=1)  # (B*K, S)
        structure = dense_structure(valid_t, valid_i, valid_n)  # (S, S)
        allowed = structure.unsqueeze(0) & valid.unsqueeze(1)  # (B*K, S, S)
        if mode == "reference":  # additive 0/1 float mask (disallowed +1), padding -inf
            bias = (~structure).float().unsqueeze(0) + torch.zeros_like(allowed, dtype=torch.float32)
            bias = bias.masked_fill(~valid.unsqueeze(1), NEG_INF)
        else:  # Eq. 4, every token attends to itself
            pos = positions(valid)
            allowed = allowed | (pos.unsqueeze(1) == pos.unsqueeze(0)).unsqueeze(0)
            bias = torch.zeros_like(allowed, dtype=torch.float32).masked_fill(~allowed, NEG_INF)
        out = self.transformer_fusion(seq, bias.unsqueeze(1))  # (B*K, S, d)
        c_t, c_i, c_n = 5, 5 + xt.shape[1], 5 + xt.shape[1] + xi.shape[1]
        z_comb = torch.cat([out[:, 1:5], out[:, c_t:c_t + 1], out[:, c_i:c_i + 1], out[:, c_n:c_n + 1]], dim=1)  # (B*K, 7, d)
        z_task = out[:, :1]  # (B*K, 1, d)
        res = self.head(z_comb, z_task, per_task(presence), task_ids.reshape(b * k, 1))

        def back(x: Tensor) -> Tensor:  # (B*K, 1, ...) -> (B, K, ...)
            return x.reshape(b, k, *x.shape[2:])

        return FlexCareOutput(back(res.logits), back(res.probs), back(res.s_p), back(res.alpha),
                              back(res.gates), res.decorrelation, res.balance)

    # --- the whole model -----------------------------------------------------------------------

    def forward(self, ts: Tensor, ts_mask: Tensor, image: Tensor, note: Tensor, note_mask: Tensor,
                presence: Tensor, task_ids: Tensor) -> FlexCareOutput:
        """ts (B, T, 76) + ts_mask (B, T) 1 = real row; image (B, 3, 224, 224); note (B, N, E) +
        note_mask (B, N); presence (B, 3) 1 = modality present (t, i, n); task_ids (B, K) long."""
        if task_ids.dim() != 2:
            raise ValueError(f"Expected task_ids (B, K), got {tuple(task_ids.shape)}")
        if not torch.jit.is_tracing():
            known = {t.id for t in self.config.tasks}
            unknown = sorted({int(i) for i in task_ids.unique()} - known)
            if unknown:
                raise ValueError(f"Task ids {unknown} have no head; known ids: {sorted(known)}")
        if self.config.mask_mode == "reference":
            return self.forward_dense(ts, ts_mask, image, note, note_mask, presence, task_ids)
        valid_t = self.key_valid(presence[:, 0], ts_mask, 0)
        valid_i = self.key_valid(presence[:, 1], None, self.config.image_positions)
        valid_n = self.key_valid(presence[:, 2], note_mask, 0)
        valids = [valid_t, valid_i, valid_n]
        if torch.jit.is_tracing():  # exported graph: every stream over the whole batch
            embedded = [self.embed_ts(ts), self.embed_image(image), self.embed_note(note)]
            streams = [self.modality_stream(x, v) for x, v in zip(embedded, valids)]
            return self._fuse(streams, valids, presence, task_ids)
        return self._forward_grouped((ts, image, note), valids, presence, task_ids)

    def _forward_grouped(self, raws: Sequence[Tensor], valids: List[Tensor], presence: Tensor,
                         task_ids: Tensor) -> FlexCareOutput:
        """Eager paper mode, the same numbers as `_fuse` over whole-batch streams, faster:
        - each modality's stream runs only on the samples that have it (no padded stream of
          zeros for the others);
        - a missing modality's tokens attend only to themselves, so its CLS evolves alone and
          is the same for every sample: one CLS-only stream, shared (it enters the
          decorrelation loss); its other tokens are masked keys and are left out;
        - the queries (4 combination + K task tokens, independent per sample) run per group of
          samples with the same modalities, over only those modalities' keys, reusing the
          streams' key/value projections (`stream_kvs`)."""
        b = task_ids.shape[0]
        embeds = (self.embed_ts, self.embed_image, self.embed_note)
        has = [v[:, 0] for v in valids]  # (B,) bool per modality
        full: List[Optional[Tuple[Tensor, Tensor, Tensor]]] = []  # states, kv, row of each sample
        alone: List[Tuple[Tensor, Tensor]] = []  # CLS-only stream (1, L+1, 1, d), kv (1, L, 1, 2d)
        cls_final = []  # (B, d): each modality's CLS output
        for embed, raw, valid, present in zip(embeds, raws, valids, has):
            kvs: List[Tensor] = []
            cls_states = self.modality_stream(embed(raw[:1])[:, :1], valid[:1, :1] | True, kvs)
            alone.append((cls_states, torch.stack(kvs, dim=1)))
            idx = present.nonzero()[:, 0]
            if idx.numel() == 0:
                full.append(None)
                cls_final.append(cls_states[:, -1, 0].expand(b, -1))
                continue
            kvs = []
            states = self.modality_stream(embed(raw[idx]), valid[idx], kvs)  # (P, L+1, S, d)
            row = torch.full((b,), -1, dtype=torch.long, device=idx.device).index_copy(
                0, idx, torch.arange(idx.numel(), device=idx.device))  # (B,)
            full.append((states, torch.stack(kvs, dim=1), row))
            cls_final.append(torch.where(present.unsqueeze(1), states[row.clamp(min=0), -1, 0],
                                         cls_states[:, -1, 0].expand(b, -1)))  # (B, d)
        pattern = has[0].long() + 2 * has[1].long() + 4 * has[2].long()  # (B,)
        order, free_parts, task_parts = [], [], []
        for code in sorted({int(c) for c in pattern}):
            idx = (pattern == code).nonzero()[:, 0]  # samples of this group
            streams, kvs, group_valids = [], [], []
            for m in range(3):
                if code >> m & 1:
                    states, kv, row = full[m]
                    rows = row[idx]
                    streams.append(states[rows])
                    kvs.append(kv[rows])
                    group_valids.append(valids[m][idx])
                else:  # only the CLS, a masked key (the queries never attend to it)
                    cls_states, cls_kv = alone[m]
                    streams.append(cls_states.expand(idx.numel(), -1, -1, -1))
                    kvs.append(cls_kv.expand(idx.numel(), -1, -1, -1))
                    group_valids.append(torch.zeros(idx.numel(), 1, dtype=torch.bool, device=idx.device))
            free, z_task = self.queries(streams, group_valids, task_ids[idx], kvs)
            order.append(idx)
            free_parts.append(free)
            task_parts.append(z_task)
        inverse = torch.empty_like(pattern).index_copy_(0, torch.cat(order), torch.arange(b, device=pattern.device))
        free = torch.cat(free_parts)[inverse]  # (B, 4, d)
        z_task = torch.cat(task_parts)[inverse]  # (B, K, d)
        z_comb = torch.cat([free, torch.stack(cls_final, dim=1)], dim=1)  # (B, 7, d) in COMBINATIONS order
        return self.head(z_comb, z_task, presence, task_ids)

    # --- MoE, fusion and heads (Eq. 5-12) ---------------------------------------------------------

    def head(self, z_comb: Tensor, z_task: Tensor, presence: Tensor, task_ids: Tensor) -> FlexCareOutput:
        """z_comb (B, 7, d) in COMBINATIONS order, z_task (B, K, d), presence (B, 3)."""
        present = presence > 0.5  # (B, 3)
        routed = torch.stack([present[:, [MODALITIES.index(m) for m in comb]].all(dim=1)
                              for comb in COMBINATIONS], dim=1)  # (B, 7)
        s_c, gates, balance = self.moe(z_comb, z_task, routed)  # (B, K, 7, d), (B, K, 7, E)
        z_task_c = z_task.unsqueeze(2).expand(-1, -1, len(COMBINATIONS), -1)  # (B, K, 7, d)
        e = self.mm_choose2(torch.tanh(self.mm_choose(torch.cat([z_task_c, s_c], dim=-1))))[..., 0]  # Eq. 11, (B, K, 7)
        absent = (~routed).unsqueeze(1).to(e.dtype)  # (B, 1, 7)
        alpha = torch.softmax((e - absent * 1e7) / self.config.temperature, dim=-1)  # Eq. 12
        fused = (alpha.unsqueeze(-1) * s_c).sum(dim=2)  # (B, K, d)
        s_p = torch.cat([z_task, self.mm_layernorm(fused)], dim=-1)  # (B, K, 2d)
        logits, probs = self.task_outputs(s_p, task_ids)
        decor = decorrelation_loss(z_comb) if self.training else z_comb.new_zeros(())
        return FlexCareOutput(logits, probs, s_p, alpha, gates, decor, balance)

    def task_outputs(self, s_p: Tensor, task_ids: Tensor) -> Tuple[Tensor, Tensor]:
        """Every head on s_p, padded to max_outputs, then the head of each token's task."""
        width = self.config.max_outputs
        logits_all, probs_all = [], []
        for task in self.config.tasks:
            logit = getattr(self, task.param_name)(s_p)  # (B, K, n)
            prob = torch.softmax(logit, dim=-1) if task.kind == "multiclass" else torch.sigmoid(logit)
            pad = width - task.outputs
            logits_all.append(F.pad(logit, (0, pad)))
            probs_all.append(F.pad(prob, (0, pad)))
        if len(self.config.tasks) == 1:
            return logits_all[0], probs_all[0]
        heads = self.head_of_id[task_ids]  # (B, K)
        index = heads.unsqueeze(-1).unsqueeze(-1).expand(*heads.shape, 1, width)  # (B, K, 1, W)
        logits = torch.stack(logits_all, dim=2).gather(2, index)[:, :, 0]  # (B, K, W)
        probs = torch.stack(probs_all, dim=2).gather(2, index)[:, :, 0]
        return logits, probs

    def _check_paper(self, what: str) -> None:
        if self.config.mask_mode != "paper":
            raise ValueError(f'{what} needs mask_mode "paper"; the reference mask does not allow caching')


# Reference state-dict keys we accept and drop: the unused duplicate encoder layer, the MoE's
# Normal buffers, the frozen BioBERT and the reference's DRG head (Linear(d, 769), which its own
# forward cannot apply to the 2d-wide s_p).
IGNORED_REFERENCE_PREFIXES = ("encoder_layer_fusion.", "note_projection.", "moe.mean", "moe.std")


def load_reference_state_dict(model: FlexCare, state: dict) -> List[str]:
    """Loads a reference-code state dict (strict for every parameter of `model`); returns the
    keys that were dropped."""
    dropped = [key for key in state if key.startswith(IGNORED_REFERENCE_PREFIXES)]
    kept = {key: value for key, value in state.items() if key not in dropped}
    own = model.state_dict()
    for key, value in list(kept.items()):
        if key.startswith("dense_layer_drg.") and (key not in own or own[key].shape != value.shape):
            dropped.append(key)
            del kept[key]
    missing, unexpected = model.load_state_dict(kept, strict=False)
    if unexpected:
        raise ValueError(f"Unexpected keys in the state dict: {sorted(unexpected)}")
    if missing:
        raise ValueError(f"Keys missing from the state dict: {sorted(missing)}")
    return dropped
