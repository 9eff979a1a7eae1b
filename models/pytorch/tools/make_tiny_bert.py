"""Usage: PYENV_VERSION=system python3 models/pytorch/tools/make_tiny_bert.py OUT_DIR

Writes the tiny BERT-like ONNX graph (embeddings + one transformer layer, hidden 16, BERT's
input and output names, seed 0) that the Deno note-encoder test runs on the BioBERT path, with
its vocabulary and PyTorch's output for "the patient has htn, copd." (ids 4..12). Committed in
tests/fixtures/tiny_bert; models/pytorch/tests/test_test_model.py checks it is current."""
import json, os, sys
import torch

VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'the', 'patient', 'has', 'h', '##t', '##n', ',', 'copd', '.']
IDS = [4, 5, 6, 7, 8, 9, 10, 11, 12]  # the patient has h ##t ##n , copd .
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "vocab.txt"), "w") as fh:
    fh.write("\n".join(VOCAB) + "\n")
vocab_size, ids_arg = len(VOCAB), ",".join(map(str, IDS))
hidden = 16
torch.manual_seed(0)
class TinyBert(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.word = torch.nn.Embedding(vocab_size, hidden)
        self.pos = torch.nn.Embedding(512, hidden)
        self.types = torch.nn.Embedding(2, hidden)
        self.ln = torch.nn.LayerNorm(hidden)
        self.qkv = torch.nn.Linear(hidden, 3 * hidden)
        self.proj = torch.nn.Linear(hidden, hidden)
        self.ln1 = torch.nn.LayerNorm(hidden)
        self.ff = torch.nn.Sequential(torch.nn.Linear(hidden, 4 * hidden), torch.nn.GELU(), torch.nn.Linear(4 * hidden, hidden))
        self.ln2 = torch.nn.LayerNorm(hidden)
    def forward(self, input_ids, attention_mask, token_type_ids):
        n = input_ids.shape[1]
        pos = torch.arange(n).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.pos(pos) + self.types(token_type_ids))  # (B, n, H)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        logits = q @ k.transpose(1, 2) / hidden ** 0.5  # (B, n, n)
        logits = logits + (1.0 - attention_mask.unsqueeze(1).float()) * -10000.0
        x = self.ln1(x + self.proj(torch.softmax(logits, dim=-1) @ v))
        return self.ln2(x + self.ff(x))
m = TinyBert().eval()
ids = torch.tensor([[int(t) for t in ids_arg.split(",")]], dtype=torch.int64)
mask, types = torch.ones_like(ids), torch.zeros_like(ids)
axes = {"b": 0, "n": 1}
dyn = {name: {0: "b", 1: "n"} for name in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]}
torch.onnx.export(m, (ids, mask, types), out + "/model.onnx", input_names=["input_ids", "attention_mask", "token_type_ids"],
    output_names=["last_hidden_state"], dynamic_axes=dyn, opset_version=14)
with torch.no_grad():
    y = m(ids, mask, types)[0]
json.dump({"last_hidden_state": y.flatten().tolist()}, open(out + "/expected.json", "w"))
