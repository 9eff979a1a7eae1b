"""A state dict with the reference code's names loads, runs in reference mode and matches
PyTorch's own nn.TransformerEncoder fed the reference's float mask."""
import os

import torch
from torch import nn

from flexcare_torch.import_checkpoint import import_reference, main as import_main
from flexcare_torch.model import FlexCare
from test_masks import reference_cross_modal_mask
from tiny import tiny_inputs

D, LAYERS, E = 16, 2, 8


def reference_state_dict():
    """Random tensors under the reference names and shapes (tiny sizes), plus the extra keys a
    reference checkpoint carries."""
    g = torch.Generator().manual_seed(1)

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    s = {
        "task_embedding.weight": r(40, D), "ehr_projection.weight": r(D, 76), "ehr_projection.bias": r(D),
        "ehr_cls_token": r(1, 1, D), "ehr_pos_embed": r(1, 600, D),
        "patch_projection.proj.weight": r(D, 3, 16, 16), "patch_projection.proj.bias": r(D),
        "cxr_cls_token": r(1, 1, D), "cxr_pos_embed": r(1, 5, D),
        "note_fc.weight": r(D, E), "note_fc.bias": r(D), "note_cls_token": r(1, 1, D), "note_pos_embed": r(1, 600, D),
        "mm_cls_token": r(1, 1, D), "cross_cls_tokens": r(3, 1, D),
        "moe.w_gate": r(D, 10), "moe.w_noise": r(D, 10), "moe.task_gate": r(D, 10),
        "moe.mean": torch.tensor([0.0]), "moe.std": torch.tensor([1.0]),
        "mm_choose.weight": r(D, 2 * D), "mm_choose2.weight": r(1, D),
        "mm_layernorm.weight": 1 + r(D), "mm_layernorm.bias": r(D),
        "note_projection.embeddings.word_embeddings.weight": r(10, E),
        "dense_layer_drg.weight": r(769, D), "dense_layer_drg.bias": r(769),
    }
    for e in range(10):
        s.update({f"moe.experts.{e}.fc1.weight": r(D, D), f"moe.experts.{e}.fc1.bias": r(D),
                  f"moe.experts.{e}.fc2.weight": r(D, D), f"moe.experts.{e}.fc2.bias": r(D)})
    layer = {"self_attn.in_proj_weight": (3 * D, D), "self_attn.in_proj_bias": (3 * D,),
             "self_attn.out_proj.weight": (D, D), "self_attn.out_proj.bias": (D,),
             "linear1.weight": (4 * D, D), "linear1.bias": (4 * D,), "linear2.weight": (D, 4 * D),
             "linear2.bias": (D,), "norm1.weight": (D,), "norm1.bias": (D,), "norm2.weight": (D,), "norm2.bias": (D,)}
    for name, shape in layer.items():
        s[f"encoder_layer_fusion.{name}"] = r(*shape)
        for i in range(LAYERS):
            s[f"transformer_fusion.layers.{i}.{name}"] = r(*shape)
    for head, n in (("mortality", 1), ("decomp", 1), ("ph", 25), ("los", 10), ("readm", 1), ("diag", 14)):
        s[f"dense_layer_{head}.weight"] = r(n, 2 * D)
        s[f"dense_layer_{head}.bias"] = r(n)
    return s


def test_reference_state_dict_loads_and_matches_torch_encoder(tmp_path):
    state = reference_state_dict()
    path = os.path.join(tmp_path, "ref.pt")
    torch.save(state, path)
    model = import_reference(path)
    c = model.config
    assert (c.mask_mode, c.d_model, c.n_layers, c.note_dim, c.image_size) == ("reference", D, LAYERS, E, 32)
    assert [t.code for t in c.tasks] == ["ihm", "dec", "phe", "los", "rea", "dia"]
    torch.testing.assert_close(model.transformer_fusion.layers[1].linear1.weight,
                               state["transformer_fusion.layers.1.linear1.weight"])
    x = tiny_inputs(c, batch=3, rows=5, tokens=4)
    x["task_ids"] = torch.tensor([[0], [2], [3]])

    seen = {}
    model.transformer_fusion.register_forward_hook(lambda m, i, o: seen.update(seq=i[0], out=o))
    with torch.no_grad():
        out = model(x["ts"], x["ts_mask"], x["image"], x["note"], x["note_mask"], x["presence"], x["task_ids"])
    assert all(torch.isfinite(t).all() for t in out[:5])

    # PyTorch's encoder with the reference's float mask and boolean padding mask
    encoder_layer = nn.TransformerEncoderLayer(d_model=D, nhead=2, dim_feedforward=4 * D)
    encoder = nn.TransformerEncoder(encoder_layer, num_layers=LAYERS, enable_nested_tensor=False)
    encoder.load_state_dict({k[len("transformer_fusion."):]: v for k, v in state.items()
                             if k.startswith("transformer_fusion.")})
    encoder.eval()
    t, n = x["ts"].shape[1] + 1, x["note"].shape[1] + 1
    ehr_cls, cxr_cls = 5, 5 + t
    note_cls = cxr_cls + 5
    total = note_cls + n
    mask = reference_cross_modal_mask(ehr_cls, cxr_cls, note_cls, total)
    pres = x["presence"] > 0.5
    pad = torch.cat([torch.zeros(3, 5, dtype=torch.bool), ~pres[:, :1], (x["ts_mask"] < 0.5) | ~pres[:, :1],
                     (~pres[:, 1:2]).expand(3, 5), ~pres[:, 2:3], (x["note_mask"] < 0.5) | ~pres[:, 2:3]], dim=1)
    with torch.no_grad():
        expected = encoder(seen["seq"].transpose(0, 1), mask=mask, src_key_padding_mask=pad).transpose(0, 1)
    torch.testing.assert_close(seen["out"], expected, atol=1e-5, rtol=1e-5)


def test_import_cli_exports_one_graph(tmp_path):
    path = os.path.join(tmp_path, "ref.pt")
    torch.save({"state_dict": reference_state_dict()}, path)
    out = os.path.join(tmp_path, "model")
    assert import_main([path, "--out", out]) == 0
    assert sorted(f for f in os.listdir(out) if f.endswith(".onnx")) == ["flexcare.onnx"]
    assert isinstance(FlexCare, type)
