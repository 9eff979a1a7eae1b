import { join } from "node:path";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import { createNoteEncoder } from "../../src/features/notes/create_encoder.ts";
import {
  DEFAULT_NOTE_ENCODER,
  MAX_NOTE_TOKENS,
  parseNoteEncoderSpec,
} from "../../src/features/notes/encoder.ts";
import { createHashedEncoder } from "../../src/features/notes/hashed_encoder.ts";
import { sentenceChunks } from "../../src/features/notes/use_lite_encoder.ts";
import { charNgrams, tokenizeWords } from "../../src/features/notes/word_tokenizer.ts";

const NOTE = "1 chf ef 35 s p icd placement 2 type 2 diabetes mellitus on insulin 3 htn hld";

Deno.test("note encoder: spec validation names the bad field", () => {
  // Unknown fields are dropped and every hashed setting is resolved to its value.
  assertEquals(parseNoteEncoderSpec({ kind: "hashed", dim: 8, extra: 1 }), {
    kind: "hashed",
    dim: 8,
    seed: 0,
    bigrams: false,
    subwords: true,
    maxTokens: 512,
  });
  assertThrows(() => parseNoteEncoderSpec({ kind: "hashed", dim: 0 }), RangeError, "dim 0");
  assertThrows(
    () => parseNoteEncoderSpec({ kind: "hashed", dim: 8, maxTokens: 513 }),
    RangeError,
    "maxTokens 513",
  );
  assertThrows(
    () => parseNoteEncoderSpec({ kind: "hashed", dim: 8, bigrams: "yes" }),
    TypeError,
    "bigrams",
  );
  assertThrows(() => parseNoteEncoderSpec({ kind: "use-lite", dim: 768 }), RangeError, "use-lite");
  assertThrows(
    () => parseNoteEncoderSpec({ kind: "biobert-onnx", dim: 768, vocab: "v.txt" }),
    TypeError,
    "model",
  );
  assertThrows(() => parseNoteEncoderSpec({ kind: "word2vec", dim: 8 }), TypeError, '"word2vec"');
  assertThrows(() => parseNoteEncoderSpec(null), TypeError);
  assert(Object.isFrozen(parseNoteEncoderSpec(DEFAULT_NOTE_ENCODER)));
});

Deno.test("note encoder: word tokens and subwords", () => {
  // The reference normalization deletes punctuation and line breaks, joining what they separated.
  assertEquals(tokenizeWords("HTN, DM-2\n(on insulin)"), ["htn", "dm2on", "insulin"]);
  assertEquals(tokenizeWords("HTN, DM-2 (on insulin)"), ["htn", "dm2", "on", "insulin"]);
  assertEquals(tokenizeWords("   "), []);
  assertEquals(tokenizeWords("a b c d", { limit: 2 }), ["a", "b"]);
  assertEquals(charNgrams("a"), []);
  assertEquals(charNgrams("ab"), ["<ab", "ab>"]);
  assertThrows(() => charNgrams("ab", { min: 3, max: 2 }), RangeError);
});

Deno.test("note encoder: hashed embeddings have shape [n, E], unit variance, no NaN", async () => {
  const encoder = await createNoteEncoder(DEFAULT_NOTE_ENCODER);
  const out = await encoder.encode(NOTE);
  assertEquals(out.tokens, tokenizeWords(NOTE).length);
  assertEquals(out.dim, 768);
  assertEquals(out.data.length, out.tokens * 768);
  let sum = 0, sq = 0;
  for (const v of out.data) {
    assert(Number.isFinite(v));
    sum += v;
    sq += v * v;
  }
  const n = out.data.length;
  assertAlmostEquals(sum / n, 0, 0.05);
  assertAlmostEquals(sq / n, 1, 0.05);
  const empty = await encoder.encode(" ,. ");
  assertEquals([empty.tokens, empty.data.length], [0, 0]);
  await encoder.close();
});

Deno.test("note encoder: hashed embeddings are deterministic and depend on seed and context", async () => {
  const a = createHashedEncoder({ kind: "hashed", dim: 32 });
  const b = createHashedEncoder({ kind: "hashed", dim: 32 });
  const first = await a.encode(NOTE);
  await a.encode("many other words to churn the cache"); // the cache must not change results
  assertEquals(Array.from((await a.encode(NOTE)).data), Array.from(first.data));
  assertEquals(Array.from((await b.encode(NOTE)).data), Array.from(first.data));
  // Raw and normalized text give the same tokens.
  assertEquals(
    Array.from((await a.encode("CHF, HTN.")).data),
    Array.from((await a.encode("chf htn")).data),
  );
  const seeded = createHashedEncoder({ kind: "hashed", dim: 32, seed: 7 });
  assertNotEquals(Array.from((await seeded.encode(NOTE)).data), Array.from(first.data));
  // With word pairs, "htn" after "chf" differs from "htn" after "copd"; without (the default),
  // it does not.
  const row = (x: Float32Array, i: number) => Array.from(x.subarray(i * 32, (i + 1) * 32));
  const pairs = createHashedEncoder({ kind: "hashed", dim: 32, bigrams: true });
  const x1 = (await pairs.encode("chf htn")).data, x2 = (await pairs.encode("copd htn")).data;
  assertNotEquals(row(x1, 1), row(x2, 1));
  const plain = createHashedEncoder({ kind: "hashed", dim: 32 });
  const y1 = (await plain.encode("chf htn")).data, y2 = (await plain.encode("copd htn")).data;
  assertEquals(row(y1, 1), row(y2, 1));
  // Pinned values guard against silent changes of the hashing (which would invalidate models).
  const pinned = Array.from((await a.encode("htn")).data.subarray(0, 4)).map((v) =>
    Math.round(v * 1e4)
  );
  assertEquals(pinned.length, 4);
  assertEquals(pinned, PINNED_HTN);
});

// First 4 of the 32 dims of "htn" under { kind: "hashed", dim: 32 }, times 1e4 and rounded.
const PINNED_HTN = [-2416, -16558, -10233, 10233];

Deno.test("note encoder: at most 512 tokens, or the spec's maxTokens", async () => {
  const long = Array.from({ length: 700 }, (_, i) => `w${i}`).join(" ");
  const encoder = createHashedEncoder({ kind: "hashed", dim: 16 });
  const out = await encoder.encode(long);
  assertEquals(out.tokens, MAX_NOTE_TOKENS);
  assertEquals(out.data.length, MAX_NOTE_TOKENS * 16);
  // The first 512 words are kept, as BioBERT truncation keeps the first 512 pieces.
  const head = await encoder.encode(long.split(" ").slice(0, 3).join(" "));
  assertEquals(Array.from(out.data.subarray(0, 48)), Array.from(head.data));
  const short = createHashedEncoder({ kind: "hashed", dim: 16, maxTokens: 10 });
  assertEquals((await short.encode(long)).tokens, 10);
});

Deno.test("note encoder: USE lite chunks sentences into word windows", () => {
  assertEquals(sentenceChunks("Pain. Better today! no fever"), [
    "pain",
    "better today",
    "no fever",
  ]);
  const words = Array.from({ length: 70 }, (_, i) => `w${i}`).join(" ");
  assertEquals(sentenceChunks(words).map((c) => c.split(" ").length), [32, 32, 6]);
  assertEquals(sentenceChunks(" .. ; "), []);
});

Deno.test("note encoder: USE lite from the npm package gives [n, 512]", async () => {
  const encoder = await createNoteEncoder({ kind: "use-lite", dim: 512, wordsPerToken: 4 });
  const out = await encoder.encode("history of hypertension and diabetes. copd on home oxygen");
  assertEquals([out.tokens, out.dim, out.data.length], [3, 512, 3 * 512]); // 4 + 1 words, 4 words
  assert(out.data.every(Number.isFinite));
  const again = await encoder.encode("history of hypertension and diabetes. copd on home oxygen");
  for (let i = 0; i < out.data.length; i++) assertAlmostEquals(again.data[i]!, out.data[i]!, 1e-5);
  assertEquals((await encoder.encode("")).tokens, 0);
  await encoder.close();
});

// ---- BioBERT path with the committed tiny BERT-like ONNX graph (tests/fixtures/tiny_bert,
// written by models/pytorch/tools/make_tiny_bert.py; the Python suite checks it is current) ----

const TINY_BERT = new URL("../fixtures/tiny_bert/", import.meta.url).pathname;

Deno.test({
  name: "note encoder: BioBERT path runs a tiny BERT-like ONNX export like PyTorch does",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flexcare-tinybert-" });
    try {
      for (const f of ["vocab.txt", "model.onnx"]) {
        await Deno.copyFile(`${TINY_BERT}${f}`, join(dir, f));
      }
      const expected: number[] = JSON.parse(await Deno.readTextFile(`${TINY_BERT}expected.json`))
        .last_hidden_state;

      const spec = {
        kind: "biobert-onnx",
        dim: 16,
        model: "model.onnx",
        vocab: "vocab.txt",
      } as const;
      const encoder = await createNoteEncoder(spec, { baseDir: dir });
      const out = await encoder.encode("the patient has htn, copd.");
      assertEquals([out.tokens, out.dim], [9, 16]);
      assertEquals(out.data.length, expected.length);
      expected.forEach((v, i) => assertAlmostEquals(out.data[i]!, v, 1e-4));

      // Overlapping calls (runs are queued per onnxruntime-web instance) match sequential ones.
      const texts = ["copd", "the patient has htn", "unaffable copd .", "has has has"];
      const sequential = [];
      for (const t of texts) sequential.push(Array.from((await encoder.encode(t)).data));
      const parallel = await Promise.all(texts.map((t) => encoder.encode(t)));
      assertEquals(parallel.map((p) => Array.from(p.data)), sequential);

      // No special tokens, at most 512 pieces, nothing for an empty note.
      const long = await encoder.encode("the ".repeat(600));
      assertEquals(long.tokens, MAX_NOTE_TOKENS);
      assertEquals((await encoder.encode("   ")).tokens, 0);
      await encoder.close();

      // A manifest dim that disagrees with the graph is reported on use.
      const wrong = await createNoteEncoder({ ...spec, dim: 768 }, { baseDir: dir });
      await assertRejects(() => wrong.encode("copd"), TypeError, "expected [1, 1, 768]");
      await wrong.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
