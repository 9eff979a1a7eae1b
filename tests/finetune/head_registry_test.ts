import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  type FineTunedHead,
  HeadMismatchError,
  readHead,
  writeHead,
} from "../../src/finetune/head_artifact.ts";
import { HeadRegistry } from "../../src/finetune/head_registry.ts";
import { applyLinearHead } from "../../src/finetune/linear_head.ts";

const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);

function head(task: string, hash: string): FineTunedHead {
  return {
    task,
    kind: "multiclass",
    labels: ["x", "y", "z"],
    head: {
      kind: "multiclass",
      inputs: 4,
      outputs: 3,
      weights: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) / 3),
      bias: new Float32Array([0.1, -0.2, 0.3]),
    },
    token: { init: "mean", vector: new Float32Array([0.5, -0.25]) },
    baseModel: { hash, name: "m" },
    metrics: { test: { macro_f1: 0.5 } },
    training: { label_fraction: 0.01 },
    createdAt: "2026-01-01T00:00:00Z",
  };
}

Deno.test("a head artifact round-trips exactly and is refused on another base model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const original = head("drg", HASH_A);
    const path = await writeHead(`${dir}/drg`, original);
    const back = await readHead(path, { modelHash: HASH_A });
    assertEquals(back.head.weights, original.head.weights);
    assertEquals(back.head.bias, original.head.bias);
    assertEquals(back.token.vector, original.token.vector);
    assertEquals([back.labels, back.kind, back.metrics], [["x", "y", "z"], "multiclass", {
      test: { macro_f1: 0.5 },
    }]);
    const error = await assertRejects(
      () => readHead(path, { modelHash: HASH_B }),
      HeadMismatchError,
      "was trained on base model aaaaaaaaaaaa, not on the loaded model bbbbbbbbbbbb",
    );
    assertEquals(error.task, "drg");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the registry loads matching heads, lists refused ones, and applies heads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeHead(`${dir}/drg`, head("drg", HASH_A));
    await writeHead(`${dir}/other`, head("other", HASH_B));
    await Deno.mkdir(`${dir}/broken`);
    await Deno.writeTextFile(`${dir}/broken/head.json`, "{}");
    await Deno.mkdir(`${dir}/empty`);
    const registry = await HeadRegistry.load(dir, { modelHash: HASH_A });
    assertEquals(registry.names(), ["drg"]);
    assertEquals(registry.refused.map((r) => [r.name, r.reason.slice(0, 18)]), [
      ["broken", 'Cannot read head "'],
      ["other", "base model differs"],
    ]);
    assert(registry.refused[1]!.error instanceof HeadMismatchError);
    const sp = [1, 2, 3, 4];
    assertEquals(
      registry.apply("drg", sp).probs,
      applyLinearHead(registry.get("drg").head, sp).probs,
    );
    assertEquals(registry.tokens(["drg"])[0]!.vector, new Float32Array([0.5, -0.25]));
    assertEquals(registry.describe().map((h) => [h.task, h.outputs, h.activation, h.tokenInit]), [
      ["drg", 3, "softmax", "mean"],
    ]);
    await assertRejects(
      () => HeadRegistry.load(dir, { modelHash: HASH_A, strict: true }),
      TypeError,
    );
    assertEquals((await HeadRegistry.load(`${dir}/none`, { modelHash: HASH_A })).names(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
