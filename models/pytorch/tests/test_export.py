"""Export: onnx.checker, manifest, staged == one graph (in PyTorch), parity fixtures."""
import hashlib
import json
import os

import onnx
import pytest
import torch

from flexcare_torch.export import example_inputs, export_model, run_graph, tensor_specs
from flexcare_torch.model import FlexCare
from tiny import tiny_config


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = FlexCare(tiny_config()).eval()
    with torch.no_grad():
        model.moe.w_gate.normal_()
        model.moe.task_gate.normal_()
    out = str(tmp_path_factory.mktemp("model"))
    doc = export_model(model, out, parity=True, source="test")
    return model, out, doc


def test_graphs_pass_the_checker_and_match_the_manifest(exported):
    model, out, doc = exported
    assert set(doc["graphs"]) == {"flexcare", "image_tower", "note_tower", "step"}
    specs = tensor_specs(model.config)
    for name, g in doc["graphs"].items():
        path = os.path.join(out, g["file"])
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == g["sha256"]
        graph = onnx.load(path)
        onnx.checker.check_model(graph)
        assert [i.name for i in graph.graph.input] == [i["name"] for i in g["inputs"]]
        assert [o.name for o in graph.graph.output] == [o["name"] for o in g["outputs"]]
        for value in list(graph.graph.input) + list(graph.graph.output):
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            expected = specs[value.name][0]
            assert len(dims) == len(expected)
            for got, want in zip(dims, expected):
                if isinstance(want, int):
                    assert got == want, (name, value.name, dims, expected)
                else:
                    assert isinstance(got, str), (name, value.name, dims)  # dynamic
        assert all(t.data_type != onnx.TensorProto.FLOAT16 for t in graph.graph.initializer)
    with open(os.path.join(out, "manifest.json")) as f:
        assert json.load(f)["mask_mode"] == "paper"
    assert [t["code"] for t in doc["tasks"]] == ["ihm", "phe", "los"]


def test_staged_equals_one_graph(exported):
    model, _, _ = exported
    x = example_inputs(model, batch=3, rows=6, tokens=4, tasks=3, seed=3)
    one = run_graph(model, "flexcare", x)
    x["image_states"] = run_graph(model, "image_tower", x)["image_states"]
    x["note_states"] = run_graph(model, "note_tower", x)["note_states"]
    # a missing image may come as zeros: it is masked
    x["image_states"][1] = 0
    staged = run_graph(model, "step", x)
    for name, value in one.items():
        torch.testing.assert_close(staged[name], value, atol=1e-5, rtol=1e-5)


def test_parity_fixtures_hold_pytorch_results(exported):
    model, out, doc = exported
    for name, files in doc["parity"].items():
        with open(os.path.join(out, files["inputs"])) as f:
            inputs = json.load(f)
        with open(os.path.join(out, files["outputs"])) as f:
            outputs = json.load(f)
        feed = {k: torch.tensor(v["data"], dtype=torch.long if v["dtype"] == "int64" else torch.float32).reshape(v["dims"])
                for k, v in inputs.items()}
        got = run_graph(model, name, feed)
        assert set(got) == set(outputs)
        for k, v in outputs.items():
            assert list(got[k].shape) == v["dims"] and v["dtype"] == "float32"
            torch.testing.assert_close(got[k].reshape(-1), torch.tensor(v["data"]), atol=1e-6, rtol=1e-6)


def test_task_tokens_come_from_the_task_table_input(exported):
    model, out, doc = exported
    entry = doc["task_table"]
    path = os.path.join(out, entry["file"])
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == entry["sha256"]
    with open(path) as f:
        table = json.load(f)
    assert table["dims"] == [model.config.task_embeddings, model.config.d_model] == entry["shape"]
    torch.testing.assert_close(torch.tensor(table["data"]).reshape(table["dims"]), model.task_embedding.weight.detach())
    for name in ("flexcare", "step"):
        assert [i["name"] for i in doc["graphs"][name]["inputs"]][-2:] == ["task_ids", "task_table"]
    x = example_inputs(model, batch=3, rows=6, tokens=4, tasks=3, seed=3)
    x["image_states"] = run_graph(model, "image_tower", x)["image_states"]
    x["note_states"] = run_graph(model, "note_tower", x)["note_states"]
    base = run_graph(model, "flexcare", x)
    # A new token in task 2's row: only the task tokens of id 2 change, as if the weights had.
    token = torch.randn(model.config.d_model, generator=torch.Generator().manual_seed(5))
    x["task_table"] = x["task_table"].clone()
    x["task_table"][2] = token
    changed = x["task_ids"] == 2
    for name in ("flexcare", "step"):
        got = run_graph(model, name, x)
        assert not torch.allclose(got["s_p"][changed], base["s_p"][changed])
        torch.testing.assert_close(got["s_p"][~changed], base["s_p"][~changed], atol=1e-5, rtol=1e-5)
        # s_p starts with the task token's final state, and equals the weights-edited model
        other = FlexCare(model.config).eval()
        other.load_state_dict(model.state_dict())
        with torch.no_grad():
            other.task_embedding.weight[2] = token
        ref = other(*(x[n] for n in ("ts", "ts_mask", "image", "note", "note_mask", "presence", "task_ids")))
        torch.testing.assert_close(got["s_p"], ref.s_p, atol=1e-5, rtol=1e-5)
