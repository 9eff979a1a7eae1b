"""Usage: PYTHONPATH=models/pytorch PYENV_VERSION=system python3 models/pytorch/tools/compact_parity.py \
    CHECKPOINT MODEL_DIR   (after `deno task export --parity` into MODEL_DIR)
   or: ... compact_parity.py --random-init CONFIG_JSON MODEL_DIR   (a random-init test model,
    seed 0, as exported by `flexcare_torch.export --random-init CONFIG_JSON`; see
    make_test_model.sh)

Replaces a model directory's parity fixtures with compact ones (same graphs, same checks):
batch 2 (sample 1: no image, padding), inputs on a 1/8 grid (short decimals; tower states
rounded to 7 significant digits and fed as such), outputs written with 7 significant digits
(error <= 1e-7 relative, far below the 1e-4 parity tolerance). Updates manifest.json's parity."""
import json, os, sys
import numpy as np
import torch
from flexcare_torch.export import load_checkpoint, example_inputs, write_parity, randomize_gates
from flexcare_torch.config import FlexCareConfig
from flexcare_torch.model import FlexCare

if sys.argv[1] == "--random-init":
    config, out = sys.argv[2], sys.argv[3]
    torch.manual_seed(0)
    model = FlexCare(FlexCareConfig.from_dict(json.loads(config)))
    randomize_gates(model, 0)
else:
    ckpt_path, out = sys.argv[1], sys.argv[2]
    model, _ = load_checkpoint(ckpt_path)
model.eval()
x = example_inputs(model, batch=2, rows=4, tokens=3, tasks=2, seed=1)
g = torch.Generator().manual_seed(2)
x["task_table"] = x["task_table"] + 0.1 * torch.randn(x["task_table"].shape, generator=g)
grid = lambda t: torch.round(t * 8) / 8
for k in ("ts", "image", "note", "task_table"):
    x[k] = grid(x[k])
sig7 = lambda a: np.array([float("%.7g" % v) for v in a.reshape(-1)], dtype=np.float32).reshape(a.shape)
with torch.no_grad():
    x["image_states"] = torch.from_numpy(sig7(model.image_tower(x["image"]).numpy()))
    x["note_states"] = torch.from_numpy(sig7(model.note_tower(x["note"], x["note_mask"]).numpy()))
files = write_parity(model, out, x)
def short(doc, fmt):
    for t in doc.values():
        if t["dtype"] == "float32":
            t["data"] = [float(fmt % v) for v in t["data"]]
    return doc
for name, f in files.items():
    for kind, fmt in (("inputs", "%.9g"), ("outputs", "%.7g")):
        p = os.path.join(out, f[kind])
        with open(p) as fh:
            doc = json.load(fh)
        with open(p, "w") as fh:
            json.dump(short(doc, fmt), fh, separators=(",", ":"))
man_path = os.path.join(out, "manifest.json")
man = json.load(open(man_path))
man["parity"] = files
json.dump(man, open(man_path, "w"), indent=2)
print({f[k]: os.path.getsize(os.path.join(out, f[k])) for f in files.values() for k in ("inputs", "outputs")})
