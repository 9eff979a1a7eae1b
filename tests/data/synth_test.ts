import { assert, assertEquals, assertNotEquals, assertRejects } from "../assert.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
// A decoder to check the encoder against (test-only; kept out of the import map).
// deno-lint-ignore no-import-prefix
import jpeg from "npm:jpeg-js@0.4.4";
import { parseCsv } from "../../src/data/csv.ts";
import { listfileHeader } from "../../src/data/layout_writer.ts";
import { SPLITS, type TaskCode, TASKS } from "../../src/data/tasks.ts";
import { buildCohort } from "../../src/data/synth/cohort.ts";
import { CHANNEL_RANGES, channelRangesFromCsv } from "../../src/data/synth/channel_ranges.ts";
import { renderChestXray } from "../../src/data/synth/cxr_image.ts";
import { encodeGrayscaleJpeg } from "../../src/data/synth/jpeg.ts";
import { normalizeNoteText } from "../../src/features/notes/normalize.ts";
import { createPrng } from "../../src/data/synth/prng.ts";
import { simulateEpisode } from "../../src/data/synth/physiology.ts";
import { deterioration } from "../../src/data/synth/stay.ts";
import { auroc } from "../../src/eval/auroc.ts";
import { taskRows } from "../../src/data/synth/samples.ts";
import { writeSyntheticDataset } from "../../src/data/synth/write_dataset.ts";
import { main } from "../../src/cli/synth.ts";
import { UsageError } from "../../src/cli/usage_error.ts";
import { parseEpisodeCsv } from "../../src/features/episode.ts";
import { discretize } from "../../src/features/discretizer.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";

const STAYS = 60;

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

async function digest(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await listFiles(dir)) {
    const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${rel}`));
    out.set(rel, Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return out;
}

function rowsOf(text: string): string[][] {
  return parseCsv(text).map((r) => r.fields);
}

let cached: Promise<string> | undefined;
/** One 60-stay dataset shared by the read-only tests. */
function dataset(): Promise<string> {
  cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "flexcare_synth_" });
    await writeSyntheticDataset({ outDir: dir, stays: STAYS, seed: 7 });
    return dir;
  })();
  return cached;
}

Deno.test("synth: same seed gives the same bytes, another seed differs", async () => {
  const a = await dataset();
  const b = await Deno.makeTempDir({ prefix: "flexcare_synth_" });
  const c = await Deno.makeTempDir({ prefix: "flexcare_synth_" });
  await writeSyntheticDataset({ outDir: b, stays: STAYS, seed: 7 });
  await writeSyntheticDataset({ outDir: c, stays: STAYS, seed: 8 });
  const [da, db, dc] = await Promise.all([digest(a), digest(b), digest(c)]);
  assertEquals([...db.entries()], [...da.entries()]);
  const listfile = "in-hospital-mortality/train_multimodal_listfile.csv";
  assertNotEquals(dc.get(listfile), da.get(listfile));
  await Deno.remove(b, { recursive: true });
  await Deno.remove(c, { recursive: true });
});

Deno.test("synth: refuses a non-empty folder unless overwrite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flexcare_synth_" });
  await Deno.writeTextFile(`${dir}/keep.txt`, "x");
  await assertRejects(
    () => writeSyntheticDataset({ outDir: dir, stays: 3, seed: 1 }),
    Deno.errors.AlreadyExists,
  );
  await writeSyntheticDataset({ outDir: dir, stays: 3, seed: 1, overwrite: true });
  assertEquals(await Deno.readTextFile(`${dir}/keep.txt`), "x");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("synth: every task has three listfiles with the right header and labels", async () => {
  const dir = await dataset();
  const readme = await Deno.readTextFile(`${dir}/README.md`);
  assert(readme.includes("SYNTHETIC") && readme.includes("seed 7"));
  for (const task of TASKS) {
    let total = 0;
    for (const split of SPLITS) {
      const rows = rowsOf(
        await Deno.readTextFile(`${dir}/${task.folder}/${split}_multimodal_listfile.csv`),
      );
      assertEquals(rows[0], listfileHeader(task));
      for (const row of rows.slice(1)) {
        assertEquals(row.length, 6 + task.labelColumns.length);
        const note = row[5]!;
        assert(note === normalizeNoteText(note), `note not normalized: ${note}`);
        if (task.code === "dia") assert(row[4] !== "", "diagnosis samples always have an image");
        const labels = row.slice(6).map(Number);
        if (task.kind === "binary") assert(labels[0] === 0 || labels[0] === 1);
        if (task.code === "los") assert(labels[0]! >= 0 && labels[0]! <= 9);
        if (task.code === "dia") assert(labels.every((v) => v === 1 || v === 0 || v === -1));
        if (task.code === "ihm") assertEquals(row[3], "48");
      }
      total += rows.length - 1;
    }
    assert(total > 0, `task ${task.code} has no samples`);
  }
});

Deno.test("synth: splits are disjoint by patient", async () => {
  const dir = await dataset();
  const owner = new Map<string, string>();
  for (const task of TASKS) {
    for (const split of SPLITS) {
      const text = await Deno.readTextFile(
        `${dir}/${task.folder}/${split}_multimodal_listfile.csv`,
      );
      for (const row of rowsOf(text).slice(1)) {
        const before = owner.get(row[0]!);
        assert(before === undefined || before === split, `subject ${row[0]} in two splits`);
        owner.set(row[0]!, split);
      }
    }
  }
  const cohort = buildCohort({ stays: 1000, seed: 3 });
  const bySplit = { train: 0, val: 0, test: 0 };
  const seen = new Set<number>();
  for (const s of cohort.stays) {
    if (seen.has(s.stay.subject.subjectId)) continue;
    seen.add(s.stay.subject.subjectId);
    bySplit[s.split]++;
  }
  const n = seen.size;
  assert(Math.abs(bySplit.train / n - 0.7) < 0.01 && Math.abs(bySplit.val / n - 0.1) < 0.01);
});

Deno.test("synth: episodes parse, discretize and stay in the valid ranges", async () => {
  const dir = await dataset();
  const ranges = sharedMissing("reference/mimic-extract/variable_ranges.csv")
    ? CHANNEL_RANGES
    : channelRangesFromCsv(
      await Deno.readTextFile(`${SHARED_DIR}/reference/mimic-extract/variable_ranges.csv`),
      REFERENCE_CONFIG.channels,
    );
  const gcs = (text: string) => Number(text.split(" ")[0]);
  let files = 0;
  for await (const e of Deno.readDir(`${dir}/ehr`)) {
    const text = await Deno.readTextFile(`${dir}/ehr/${e.name}`);
    const observations = parseEpisodeCsv(text, { source: e.name });
    const end = Math.max(...observations.map((o) => o.hours));
    assertEquals(discretize(observations, end).columns, 76);
    for (const o of observations) {
      const range = ranges[o.channel]!;
      const value = REFERENCE_CONFIG.categorical[REFERENCE_CONFIG.channelIndex.get(o.channel)!]
        ? gcs(String(o.value))
        : Number(o.value);
      assert(value >= range.low && value <= range.high, `${o.channel} ${o.value} out of range`);
    }
    // GCS total equals the sum of its components in every charted row.
    const header = text.split("\n")[0]!.split(",");
    const col = (name: string) => header.indexOf(`Glascow coma scale ${name}`);
    for (const line of text.trim().split("\n").slice(1)) {
      const f = line.split(",");
      if (f[col("total")] === "") continue;
      const sum = gcs(f[col("eye opening")]!) + gcs(f[col("motor response")]!) +
        gcs(f[col("verbal response")]!);
      assertEquals(Number(f[col("total")]), sum);
    }
    files++;
  }
  assertEquals(files, STAYS);
});

Deno.test("synth: images are real JPEGs of at least 256 pixels", async () => {
  const dir = await dataset();
  const rows = rowsOf(await Deno.readTextFile(`${dir}/diagnosis/train_multimodal_listfile.csv`));
  const ids = rows.slice(1).map((r) => r[4]!).slice(0, 3);
  assert(ids.length > 0);
  for (const id of ids) {
    const image = jpeg.decode(await Deno.readFile(`${dir}/cxr/resized/${id}.jpg`), {
      useTArray: true,
    });
    assert(image.width >= 256 && image.height >= 256);
    // A chest silhouette: the midline (spine) is brighter than the lung fields.
    const at = (x: number, y: number) =>
      image.data[(Math.round(y * image.height) * image.width + Math.round(x * image.width)) * 4]!;
    assert(at(0.5, 0.35) > at(0.3, 0.35), "spine brighter than the right lung");
  }
});

Deno.test("synth: the JPEG encoder round-trips through an independent decoder", () => {
  const pixels = renderChestXray(new Array(14).fill(0), createPrng(9), { size: 264 });
  const bytes = encodeGrayscaleJpeg(pixels, { width: 264, height: 264 });
  const image = jpeg.decode(bytes, { useTArray: true });
  assertEquals([image.width, image.height], [264, 264]);
  let error = 0;
  for (let i = 0; i < pixels.length; i++) error += Math.abs(image.data[i * 4]! - pixels[i]!);
  assert(error / pixels.length < 6, `mean absolute error ${error / pixels.length}`);
});

Deno.test("synth: raw notes hold the sections the listfiles carry", async () => {
  const dir = await dataset();
  const rows = rowsOf(await Deno.readTextFile(`${dir}/phenotyping/train_multimodal_listfile.csv`));
  let checked = 0;
  for (const row of rows.slice(1)) {
    if (row[5] === "") continue;
    const text = await Deno.readTextFile(`${dir}/notes/${row[1]}.txt`);
    const pmh = text.split("Past Medical History:")[1]!.split("Social History:")[0]!;
    assertEquals(normalizeNoteText(pmh), row[5]);
    const course = text.split("Brief Hospital Course:")[1]!.split("Medications on Admission:")[0]!;
    assert(normalizeNoteText(course).length > 0 && !course.includes("Past Medical History"));
    checked++;
  }
  assert(checked > 0);
});

Deno.test("synth: modality missingness is near the paper's", () => {
  const cohort = buildCohort({ stays: 1500, seed: 11 });
  const icu: TaskCode[] = ["ihm", "dec", "phe", "los", "rea"];
  let samples = 0, noImage = 0, noNote = 0;
  for (const task of icu) {
    for (const split of SPLITS) {
      for (const row of taskRows(cohort, { task, split })) {
        samples++;
        if (row.dicomId === "") noImage++;
        if (row.note === "") noNote++;
      }
    }
  }
  const imageMissing = noImage / samples, noteMissing = noNote / samples;
  assert(imageMissing > 0.7 && imageMissing < 0.88, `image missing ${imageMissing}`);
  assert(noteMissing > 0.04 && noteMissing < 0.13, `note missing ${noteMissing}`);
  const dia = SPLITS.flatMap((split) => taskRows(cohort, { task: "dia", split }));
  assert(dia.length > 0 && dia.every((r) => r.dicomId !== ""));
  assert(dia.some((r) => r.episode === "") && dia.some((r) => r.episode !== ""));
});

Deno.test("synth: labels are learnable from the physiology", () => {
  const cohort = buildCohort({ stays: 400, seed: 5 });
  const sbp = { died: [0, 0], lived: [0, 0] };
  for (const entry of cohort.stays) {
    if (entry.stay.losHours < 48) continue;
    const obs = simulateEpisode(entry.stay, cohort.prng.fork("episode", entry.stay.stayId));
    const acc = entry.stay.died ? sbp.died : sbp.lived;
    for (const o of obs) {
      if (o.channel === "Systolic blood pressure" && o.hours > 36 && o.hours <= 48) {
        acc[0]! += Number(o.value);
        acc[1]!++;
      }
    }
  }
  const mean = (a: number[]) => a[0]! / a[1]!;
  assert(sbp.died[1]! > 0 && sbp.lived[1]! > 0);
  assert(
    mean(sbp.died) < mean(sbp.lived) - 5,
    `SBP ${mean(sbp.died)} (died) vs ${mean(sbp.lived)}`,
  );
  // Diabetics run higher glucose; DRG follows the admission reason.
  const glucose = { dm: [0, 0], other: [0, 0] };
  for (const entry of cohort.stays.slice(0, 150)) {
    const dm = entry.stay.phenotypes[11] === 1 || entry.stay.phenotypes[10] === 1;
    const acc = dm ? glucose.dm : glucose.other;
    for (const o of simulateEpisode(entry.stay, cohort.prng.fork("episode", entry.stay.stayId))) {
      if (o.channel === "Glucose") {
        acc[0]! += Number(o.value);
        acc[1]!++;
      }
    }
  }
  assert(mean(glucose.dm) > mean(glucose.other) + 20);
});

Deno.test("synth CLI: bad flags are usage errors; a small run writes a dataset", async () => {
  await assertRejects(() => main([]), UsageError);
  await assertRejects(() => main(["--out", "/tmp/x", "--stays", "zero"]), UsageError);
  await assertRejects(() => main(["--out", "/tmp/x", "--image-size", "128"]), UsageError);
  const dir = await Deno.makeTempDir({ prefix: "flexcare_synth_" });
  const log = console.log;
  console.log = () => {};
  try {
    assertEquals(await main(["--out", dir, "--stays", "5", "--seed", "2", "--force"]), 0);
  } finally {
    console.log = log;
  }
  await assertRejects(() => main(["--out", dir, "--stays", "5"]), UsageError, "--force");
  const head = (await Deno.readTextFile(`${dir}/drg/test_multimodal_listfile.csv`)).split("\n")[0];
  assertEquals(head, "subject_id,stay_id,stay,period_length,dicom_id,note,y_true");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("synth: clean up the shared dataset", async () => {
  if (cached !== undefined) await Deno.remove(await cached, { recursive: true });
});

Deno.test("synth: the first 48 hours carry the in-hospital mortality signal", () => {
  // IHM is predicted from the first 48 hours: patients who will die must look sicker then, not
  // only in their last hours. Mean derangement over hours 0-47 separates them (AUROC 0.99 for
  // seed 11; 0.79 without the early-failure term).
  const labels: number[] = [], early: number[] = [];
  for (const { stay } of buildCohort({ stays: 600, seed: 11 }).stays) {
    if (!stay.died) assertEquals(stay.course.earlyFailure, 0);
    if (stay.losHours < 48) continue;
    labels.push(stay.died ? 1 : 0);
    let sum = 0;
    for (let h = 0; h < 48; h++) sum += deterioration(stay.course, h);
    early.push(sum / 48);
  }
  assert(labels.filter((y) => y === 1).length >= 20, "too few deaths to measure");
  const separation = auroc(labels, early);
  assert(separation >= 0.9, `early derangement AUROC ${separation.toFixed(3)} < 0.9`);
});
