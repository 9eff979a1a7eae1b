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


def test_committed_tiny_model_is_current(tmp_path):
    out = str(tmp_path / "tiny_model")
    subprocess.run(["bash", "models/pytorch/tools/make_test_model.sh", out], cwd=ROOT, check=True)
    assert files(out) == files(FIXTURE)
    for name in files(out):
        a, b = os.path.join(out, name), os.path.join(FIXTURE, name)
        if name == "manifest.json":
            ma, mb = json.load(open(a)), json.load(open(b))
            ma.pop("created_at", None)
            mb.pop("created_at", None)
            assert ma == mb, "manifest.json differs: run models/pytorch/tools/make_test_model.sh"
        else:
            assert open(a, "rb").read() == open(b, "rb").read(), \
                f"{name} differs: run models/pytorch/tools/make_test_model.sh"


def test_committed_tiny_bert_is_current(tmp_path):
    out = str(tmp_path / "tiny_bert")
    script = os.path.join(ROOT, "models", "pytorch", "tools", "make_tiny_bert.py")
    subprocess.run([sys.executable, script, out], cwd=ROOT, check=True, capture_output=True)
    fixture = os.path.join(ROOT, "tests", "fixtures", "tiny_bert")
    assert files(out) == files(fixture)
    for name in files(out):
        assert open(os.path.join(out, name), "rb").read() == \
            open(os.path.join(fixture, name), "rb").read(), \
            f"tiny_bert/{name} differs: run models/pytorch/tools/make_tiny_bert.py tests/fixtures/tiny_bert"
