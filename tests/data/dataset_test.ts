import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  DatasetFormatError,
  predictionTime,
  readEpisode,
  readSamples,
} from "../../src/data/dataset.ts";
import { fitNormalizerFromDataset } from "../../src/data/fit_normalizer.ts";
import { formatEpisodeCsv, writeListfile } from "../../src/data/layout_writer.ts";
import { getTask, LISTFILE_FIXED_COLUMNS, PHENOTYPE_LABELS } from "../../src/data/tasks.ts";
import { discretize } from "../../src/features/discretizer.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";

async function tinyDataset(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "flexcare-dataset-" });
  await Deno.mkdir(`${dir}/ehr`);
  await Deno.writeTextFile(
    `${dir}/ehr/1_episode1_timeseries.csv`,
    formatEpisodeCsv([
      { hours: 0.5, channel: "Heart Rate", value: 80 },
      { hours: 1.5, channel: "Heart Rate", value: 100 },
      { hours: 2.5, channel: "Glascow coma scale total", value: "15" },
    ]),
  );
  await Deno.writeTextFile(
    `${dir}/ehr/2_episode1_timeseries.csv`,
    formatEpisodeCsv([{ hours: 1, channel: "Heart Rate", value: 60 }, {
      hours: 3,
      channel: "Heart Rate",
      value: 70,
    }]),
  );
  await writeListfile(dir, getTask("dec"), "train", [
    {
      subjectId: 1,
      stayId: 11,
      episode: "1_episode1_timeseries.csv",
      time: 2,
      dicomId: "",
      note: "",
      labels: [0],
    },
    {
      subjectId: 2,
      stayId: 21,
      episode: "2_episode1_timeseries.csv",
      time: 3,
      dicomId: "abc",
      note: "copd, chf",
      labels: [1],
    },
  ]);
  await writeListfile(dir, getTask("phe"), "train", [
    {
      subjectId: 1,
      stayId: 11,
      episode: "1_episode1_timeseries.csv",
      time: "",
      dicomId: "",
      note: "",
      labels: PHENOTYPE_LABELS.map((_, i) => i % 2),
    },
  ]);
  return dir;
}

Deno.test("readSamples yields typed samples with modalities and labels", async () => {
  const dir = await tinyDataset();
  try {
    const samples = await Array.fromAsync(readSamples(dir, "decompensation", "train"));
    assertEquals(samples.length, 2);
    const [a, b] = samples as [typeof samples[0], typeof samples[0]];
    assertEquals(a.task.code, "dec");
    assertEquals(a.modalities, { timeseries: true, image: false, note: false });
    assertEquals(b.modalities, { timeseries: true, image: true, note: true });
    assertEquals(b.note, "copd, chf");
    assertEquals(b.labels, [1]);
    assertEquals(b.time, 3);
    assert(a.origin.endsWith("train_multimodal_listfile.csv:2"));
    const phe = await Array.fromAsync(readSamples(dir, "phe", "train"));
    assertEquals(phe[0]!.labels.length, 25);
    assertEquals(phe[0]!.time, null);
    const obs = await readEpisode(dir, phe[0]!.episode!);
    assertEquals(predictionTime(phe[0]!, obs), 2.5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed listfiles fail naming file and line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/in-hospital-mortality`);
    const file = `${dir}/in-hospital-mortality/train_multimodal_listfile.csv`;
    const header = [...LISTFILE_FIXED_COLUMNS, "y_true"].join(",");
    const cases: [string, string][] = [
      [`${header}\n1,2,e.csv,48,,,2\n`, "binary label must be 0 or 1"],
      [`${header}\n1,2,e.csv,48,,\n`, "expected 7 fields"],
      [`${header}\n1,2,,48,,,1\n`, "no time series, image or note"],
      [`${header}\n1,2,e.csv,soon,,,1\n`, "prediction time"],
      [`${header}\n1,2,../../etc/passwd,48,,,1\n`, "plain names"],
      [`a,b\n`, "header has 2 columns"],
    ];
    for (const [text, message] of cases) {
      await Deno.writeTextFile(file, text);
      const error = await assertRejects(
        () => Array.fromAsync(readSamples(dir, "ihm", "train")),
        DatasetFormatError,
        message,
      );
      assert(error.message.startsWith(`${file}:`), error.message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fitNormalizerFromDataset: population mean and n-1 standard deviation over all rows", async () => {
  const dir = await tinyDataset();
  try {
    const stats = await fitNormalizerFromDataset(dir, { task: "dec" });
    const m1 = discretize(await readEpisode(dir, "1_episode1_timeseries.csv"), 2);
    const m2 = discretize(await readEpisode(dir, "2_episode1_timeseries.csv"), 3);
    const hr: number[] = [];
    for (const m of [m1, m2]) for (let r = 0; r < m.rows; r++) hr.push(m.data[r * 76 + 50]!);
    const mean = hr.reduce((a, b) => a + b, 0) / hr.length;
    const std = Math.sqrt(hr.reduce((a, b) => a + (b - mean) ** 2, 0) / (hr.length - 1));
    assertEquals(hr, [80, 100, 60, 60, 70]);
    assert(Math.abs(stats.means[50]! - mean) < 1e-12);
    assert(Math.abs(stats.stds[50]! - std) < 1e-12);
    // A constant column is floored at 1e-7.
    assertEquals(stats.stds[REFERENCE_CONFIG.header.indexOf("Height")]!, 1e-7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
