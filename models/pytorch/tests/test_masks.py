"""Eq. 4 in paper mode: what may depend on what; padding; the reference mask."""
import pytest
import torch

from flexcare_torch.model import FlexCare, dense_structure
from tiny import tiny_config, tiny_inputs

OUTPUTS = ("logits", "probs", "s_p", "alpha", "gates")


def run(model, x, dense=False, mode=None):
    with torch.no_grad():
        if dense:
            return model.forward_dense(x["ts"], x["ts_mask"], x["image"], x["note"], x["note_mask"],
                                       x["presence"], x["task_ids"], mask_mode=mode)
        return model(x["ts"], x["ts_mask"], x["image"], x["note"], x["note_mask"], x["presence"], x["task_ids"])


def dense_states(model, x, mode="paper"):
    """Encoder output of the dense path, (B*K, S, d), captured with a hook."""
    seen = {}
    handle = model.transformer_fusion.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    run(model, x, dense=True, mode=mode)
    handle.remove()
    return seen["out"]


def segments(x):
    """Index ranges of the dense sequence [task, 4 combos, ts, image, note]."""
    s_t, s_n = x["ts"].shape[1] + 1, x["note"].shape[1] + 1
    s_i = (x["image"].shape[-1] // 16) ** 2 + 1
    ts = slice(5, 5 + s_t)
    img = slice(ts.stop, ts.stop + s_i)
    note = slice(img.stop, img.stop + s_n)
    return ts, img, note


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = FlexCare(tiny_config()).eval()
    with torch.no_grad():  # route by input, not by tie-breaking
        m.moe.w_gate.normal_()
        m.moe.task_gate.normal_()
    return m


def single_task(x, task_id):
    y = dict(x)
    y["task_ids"] = torch.full((x["ts"].shape[0], 1), task_id, dtype=torch.long)
    return y


def test_streams_equal_dense_paper_mask(model):
    x = tiny_inputs(model.config)
    a, b = run(model, x), run(model, x, dense=True, mode="paper")
    for name in OUTPUTS:
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=1e-5, rtol=1e-5)


def test_token_states_do_not_depend_on_the_task(model):
    x = tiny_inputs(model.config)
    s0 = dense_states(model, single_task(x, 0))
    s3 = dense_states(model, single_task(x, 3))
    assert not torch.allclose(s0[:, 0], s3[:, 0])  # the task token itself differs
    torch.testing.assert_close(s0[:, 1:], s3[:, 1:], atol=0, rtol=0)


def test_several_task_tokens_equal_separate_passes(model):
    x = tiny_inputs(model.config)
    both = run(model, x)
    for k in range(x["task_ids"].shape[1]):
        y = dict(x)
        y["task_ids"] = x["task_ids"][:, k:k + 1]
        one = run(model, y)
        for name in OUTPUTS:
            torch.testing.assert_close(getattr(both, name)[:, k:k + 1], getattr(one, name), atol=1e-6, rtol=1e-5)


def test_modalities_do_not_see_each_other(model):
    x = single_task(tiny_inputs(model.config), 0)
    ts, img, note = segments(x)
    base = dense_states(model, x)
    y = dict(x)
    y["image"] = torch.randn_like(x["image"])
    changed = dense_states(model, y)
    # ts and note streams, and the {t,n} combination token (position 3), ignore the image
    for part in (ts, note, slice(3, 4)):
        torch.testing.assert_close(base[:, part], changed[:, part], atol=0, rtol=0)
    present = x["presence"][:, 1] > 0
    assert not torch.allclose(base[present][:, img], changed[present][:, img])
    # {t,i,n} and {t,i} see the image
    assert not torch.allclose(base[present][:, 1:3], changed[present][:, 1:3])
    y = dict(x)
    y["ts"] = torch.randn_like(x["ts"])
    changed = dense_states(model, y)
    for part in (img, note, slice(4, 5)):  # {i,n}
        torch.testing.assert_close(base[:, part], changed[:, part], atol=0, rtol=0)


def test_padding_and_missing_modalities_never_leak(model):
    x = tiny_inputs(model.config)
    base = run(model, x)
    y = {k: v.clone() for k, v in x.items()}
    y["ts"][x["ts_mask"] == 0] = 100.0
    y["note"][x["note_mask"] == 0] = -50.0
    y["image"][x["presence"][:, 1] == 0] = 7.0
    y["ts"][x["presence"][:, 0] == 0] = 3.0
    for dense in (False, True):
        a, b = run(model, x, dense=dense, mode="paper"), run(model, y, dense=dense, mode="paper")
        for name in OUTPUTS:
            torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(base.logits, run(model, y).logits, atol=1e-6, rtol=1e-6)


def test_fully_masked_rows_stay_finite(model):
    x = tiny_inputs(model.config)
    x["presence"][:] = torch.tensor([1.0, 0.0, 0.0])  # only the time series
    x["note_mask"][:] = 0
    states = dense_states(model, x)
    assert torch.isfinite(states).all()
    out = run(model, x)
    for name in OUTPUTS:
        assert torch.isfinite(getattr(out, name)).all()
    # alpha only over the present combination ({t}) and no gates elsewhere
    torch.testing.assert_close(out.alpha[..., 4], torch.ones_like(out.alpha[..., 4]))
    assert (out.gates[..., [0, 1, 2, 3, 5, 6], :] == 0).all()


def reference_cross_modal_mask(ehr_cls, cxr_cls, note_cls, total):
    """The reference code's mask written out per its description (1 = disallowed)."""
    m = torch.ones(total, total)
    m[0, :] = 0
    for row, spans in ((1, [(ehr_cls + 1, cxr_cls), (cxr_cls + 1, note_cls), (note_cls + 1, total)]),
                       (2, [(ehr_cls + 1, cxr_cls), (cxr_cls + 1, note_cls)]),
                       (3, [(ehr_cls + 1, cxr_cls), (note_cls + 1, total)]),
                       (4, [(cxr_cls + 1, note_cls), (note_cls + 1, total)])):
        m[row, row] = 0
        for a, b in spans:
            m[row, a:b] = 0
    for cls, end in ((ehr_cls, cxr_cls), (cxr_cls, note_cls), (note_cls, total)):
        m[cls, cls:end] = 0
        m[cls + 1:end, cls + 1:end] = 0
    return m


def test_dense_structure_is_the_reference_mask():
    vt, vi, vn = torch.ones(2, 6, dtype=torch.bool), torch.ones(2, 5, dtype=torch.bool), torch.ones(2, 3, dtype=torch.bool)
    ours = dense_structure(vt, vi, vn)
    ref = reference_cross_modal_mask(5, 11, 16, 19)
    assert torch.equal(~ours, ref > 0.5)


def test_reference_mode_lets_tokens_see_the_task(model):
    x = single_task(tiny_inputs(model.config), 0)
    s0 = dense_states(model, x, mode="reference")
    s3 = dense_states(model, single_task(x, 3), mode="reference")
    assert not torch.allclose(s0[:, 1:], s3[:, 1:])
    assert torch.isfinite(s0).all()
