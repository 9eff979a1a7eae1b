"""Decorrelation (Eq. 5-7), top-k routing (Eq. 8-10), balance loss, heads."""
import torch

from flexcare_torch.model import FlexCare, TaskModalityMoE, cv_squared, decorrelation_loss
from tiny import tiny_config, tiny_inputs


def test_decorrelation_hand_computed():
    z = torch.zeros(2, 7, 3)
    # sample 0: tokens 0 and 1 are both [1, -1, 0] (already centred): cov01 = (1 + 1) / (3 - 1) = 1
    z[0, 0] = torch.tensor([1.0, -1.0, 0.0])
    z[0, 1] = torch.tensor([1.0, -1.0, 0.0])
    # sample 1: tokens 2 and 3 are [2, 0, -2] and [-1, 0, 1] after centring (offsets 5, -3 removed)
    z[1, 2] = torch.tensor([7.0, 5.0, 3.0])  # centred [2, 0, -2]
    z[1, 3] = torch.tensor([-4.0, -3.0, -2.0])  # centred [-1, 0, 1]: cov23 = (-2 - 2) / 2 = -2
    # off-diagonal squared sums: sample 0: 2 * 1^2 = 2; sample 1: 2 * (-2)^2 = 8
    expected = (2 + 8) / (2 * 6 * 6)
    torch.testing.assert_close(decorrelation_loss(z), torch.tensor(expected))


def test_decorrelation_zero_for_uncorrelated_tokens():
    z = torch.zeros(1, 7, 7)
    for c in range(7):  # one-hot rows centred: cov between different one-hots is -1/(7*6)
        z[0, c, c] = 1.0
    x = z - z.mean(dim=2, keepdim=True)
    cov = x[0] @ x[0].T / 6
    off = (cov ** 2).sum() - (cov.diagonal() ** 2).sum()
    torch.testing.assert_close(decorrelation_loss(z), off / 36)


def moe_with_random_router(seed=0):
    torch.manual_seed(seed)
    moe = TaskModalityMoE(tiny_config())
    with torch.no_grad():
        for p in (moe.w_gate, moe.w_noise, moe.task_gate):
            p.normal_()
    return moe


def test_top2_gates_sum_to_one_on_routed_tokens():
    moe = moe_with_random_router().eval()
    z_comb, z_task = torch.randn(4, 7, 16), torch.randn(4, 2, 16)
    routed = torch.rand(4, 7) > 0.3
    out, gates, balance = moe(z_comb, z_task, routed)
    assert gates.shape == (4, 2, 7, 10) and out.shape == (4, 2, 7, 16)
    nonzero = (gates > 0).sum(-1)
    assert torch.equal(nonzero[routed.unsqueeze(1).expand_as(nonzero)], torch.full_like(nonzero[routed.unsqueeze(1).expand_as(nonzero)], 2))
    assert (gates[~routed.unsqueeze(1).expand(4, 2, 7)] == 0).all()
    sums = gates.sum(-1)[routed.unsqueeze(1).expand(4, 2, 7)]
    torch.testing.assert_close(sums, torch.ones_like(sums))
    assert float(balance) == 0.0  # no balance loss outside training
    # the output is the gated sum of the chosen experts (Eq. 10)
    b, k, c = 0, 1, int(routed[0].nonzero()[0])
    expected = sum(gates[b, k, c, e] * moe.experts[e](z_comb[b, c]) for e in range(10))
    torch.testing.assert_close(out[b, k, c], expected, atol=1e-6, rtol=1e-5)


def test_noise_only_in_training():
    moe = moe_with_random_router()
    z_comb, z_task = torch.randn(8, 7, 16), torch.randn(8, 1, 16)
    routed = torch.ones(8, 7, dtype=torch.bool)
    moe.eval()
    g1, g2 = moe(z_comb, z_task, routed)[1], moe(z_comb, z_task, routed)[1]
    assert torch.equal(g1, g2)
    moe.train()
    t1, t2 = moe(z_comb, z_task, routed)[1], moe(z_comb, z_task, routed)[1]
    assert not torch.equal(t1, t2)
    assert ((t1 > 0).sum(-1) == 2).all()


def test_balance_loss_matches_shazeer_formula():
    moe = moe_with_random_router().train()
    z_comb, z_task = torch.randn(6, 7, 16), torch.randn(6, 1, 16)
    routed = torch.rand(6, 7) > 0.4
    torch.manual_seed(5)
    _, gates, balance = moe(z_comb, z_task, routed)
    # recompute by hand with the same noise
    torch.manual_seed(5)
    clean = (z_comb @ moe.w_gate).unsqueeze(1) + (z_task @ moe.task_gate).unsqueeze(2)
    std = torch.nn.functional.softplus(z_comb @ moe.w_noise).unsqueeze(1) + 0.01
    noisy = clean + torch.randn_like(clean) * std
    top = noisy.topk(3, dim=-1).values
    normal = torch.distributions.Normal(0.0, 1.0)
    p_in = normal.cdf((clean - top[..., 2:3]) / std)
    p_out = normal.cdf((clean - top[..., 1:2]) / std)
    prob = torch.where(noisy > top[..., 2:3], p_in, p_out)
    r = routed.unsqueeze(1)
    importance = (gates * r.unsqueeze(-1)).sum((0, 1, 2))
    load = (prob * r.unsqueeze(-1)).sum((0, 1, 2))

    def cv2(v):
        return v.var() / (v.mean() ** 2 + 1e-10)

    torch.testing.assert_close(balance, 0.01 * (cv2(importance) + cv2(load)), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(cv_squared(torch.tensor([1.0, 3.0])), torch.tensor(2.0 / 4.0))


def test_heads_follow_task_ids():
    torch.manual_seed(0)
    model = FlexCare(tiny_config()).eval()
    x = tiny_inputs(model.config)
    with torch.no_grad():
        out = model(x["ts"], x["ts_mask"], x["image"], x["note"], x["note_mask"], x["presence"], x["task_ids"])
        by_id = {t.id: t for t in model.config.tasks}
        for b in range(x["task_ids"].shape[0]):
            for k in range(x["task_ids"].shape[1]):
                task = by_id[int(x["task_ids"][b, k])]
                logit = getattr(model, task.param_name)(out.s_p[b, k])
                torch.testing.assert_close(out.logits[b, k, :task.outputs], logit)
                assert (out.logits[b, k, task.outputs:] == 0).all()
                prob = torch.softmax(logit, -1) if task.kind == "multiclass" else torch.sigmoid(logit)
                torch.testing.assert_close(out.probs[b, k, :task.outputs], prob)


def test_training_forward_returns_losses():
    torch.manual_seed(0)
    model = FlexCare(tiny_config()).train()
    x = tiny_inputs(model.config)
    x["task_ids"] = x["task_ids"][:, :1]
    out = model(x["ts"], x["ts_mask"], x["image"], x["note"], x["note_mask"], x["presence"], x["task_ids"])
    assert float(out.decorrelation) > 0 and float(out.balance) >= 0
    (out.logits.sum() + out.decorrelation + out.balance).backward()
    assert model.moe.w_noise.grad is not None


def test_unknown_task_ids_are_rejected():
    model = FlexCare(tiny_config()).eval()
    x = tiny_inputs(model.config)
    x["task_ids"][0, 0] = 1  # DEC has no head in the tiny config
    try:
        model(**x)
    except ValueError as error:
        assert "[1]" in str(error)
    else:
        raise AssertionError("expected a ValueError")
