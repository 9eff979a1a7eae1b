"""The tiny test model committed in tests/fixtures/tiny_model (used by the Deno tests, which
need no Python) is current: make_test_model.sh, re-run here, writes the same files."""
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "tiny_model")


def files(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


def assert_current(out, fixture, remake):
    """Every file `remake` wrote into `out` equals the committed one (manifest.json: apart from
    its created_at; other JSON: numbers within 1e-5)."""
    assert files(out) == files(fixture)
    for name in files(out):
        a, b = os.path.join(out, name), os.path.join(fixture, name)
        if name == "manifest.json":
            ma, mb = json.load(open(a)), json.load(open(b))
            ma.pop("created_at", None)
            mb.pop("created_at", None)
            assert ma == mb, f"{name} differs: run {remake}"
        elif name.endswith(".json"):
            # Reference outputs: floating-point kernels differ in the last digits between CPUs
            # (the graphs and weights themselves must be byte-identical).
            assert close(json.load(open(a)), json.load(open(b))), f"{name} differs: run {remake}"
        else:
            assert open(a, "rb").read() == open(b, "rb").read(), f"{name} differs: run {remake}"


def close(x, y, tol=1e-5):
    """Equal JSON values, numbers within `tol` (relative, absolute near 0)."""
    if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, (int, float)):
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(close(x[k], y[k], tol) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(close(u, v, tol) for u, v in zip(x, y))
        return x == y
    return isinstance(y, (int, float)) and abs(x - y) <= tol * max(1.0, abs(x), abs(y))


def test_committed_tiny_model_is_current(tmp_path):
    out = str(tmp_path / "tiny_model")
    subprocess.run(["bash", "models/pytorch/tools/make_test_model.sh", out], cwd=ROOT, check=True)
    assert_current(out, FIXTURE, "bash models/pytorch/tools/make_test_model.sh")


def test_committed_tiny_bert_is_current(tmp_path):
    out = str(tmp_path / "tiny_bert")
    script = os.path.join(ROOT, "models", "pytorch", "tools", "make_tiny_bert.py")
    subprocess.run([sys.executable, script, out], cwd=ROOT, check=True, capture_output=True)
    assert_current(out, os.path.join(ROOT, "tests", "fixtures", "tiny_bert"),
                   "python3 models/pytorch/tools/make_tiny_bert.py tests/fixtures/tiny_bert")
