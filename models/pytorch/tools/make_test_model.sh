#!/usr/bin/env bash
# Writes the tiny random-init test model (d = 16, seed 0) that the Deno tests use, with compact
# parity fixtures, into tests/fixtures/tiny_model (or DIR). Run from the repository root with the
# system Python (PyTorch, onnx):  bash models/pytorch/tools/make_test_model.sh [DIR]
# models/pytorch/tests/test_test_model.py re-runs it and checks the committed files are current.
set -euo pipefail
out="${1:-tests/fixtures/tiny_model}"
config='{"d_model": 16}'
export PYENV_VERSION=system PYTHONPATH=models/pytorch
rm -rf "$out"
python3 -m flexcare_torch.export --random-init "$config" --out "$out" --parity >/dev/null
python3 models/pytorch/tools/compact_parity.py --random-init "$config" "$out" >/dev/null
