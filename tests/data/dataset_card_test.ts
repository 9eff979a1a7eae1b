import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import {
  buildDatasetCard,
  renderDatasetCard,
  writeDatasetCard,
} from "../../src/data/dataset_card.ts";
import { formatEpisodeCsv, writeListfile } from "../../src/data/layout_writer.ts";
import { getTask } from "../../src/data/tasks.ts";

Deno.test("dataset card: counts, prevalence, missing modalities and coverage of a written folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flexcare-card-" });
  try {
    await Deno.mkdir(`${dir}/ehr`);
    await Deno.writeTextFile(
      `${dir}/ehr/1_episode1_timeseries.csv`,
      formatEpisodeCsv([
        { hours: 0.5, channel: "Heart Rate", value: 80 },
        { hours: 1.5, channel: "Heart Rate", value: 82 },
        { hours: 1.5, channel: "pH", value: 7.4 },
      ]),
    );
    await Deno.writeTextFile(
      `${dir}/ehr/2_episode1_timeseries.csv`,
      formatEpisodeCsv([{ hours: 2, channel: "Heart Rate", value: 90 }]),
    );
    const ihm = getTask("ihm");
    const row = (s: string, y: number, dicomId = "", note = "") => ({
      subjectId: s,
      stayId: s,
      episode: `${s}_episode1_timeseries.csv`,
      time: 48,
      dicomId,
      note,
      labels: [y],
    });
    await writeListfile(dir, ihm, "train", [row("1", 1, "d1"), row("2", 0)]);
    await writeListfile(dir, ihm, "val", [row("3", 0, "", "some note")]);
    await writeListfile(dir, ihm, "test", [{ ...row("4", 1), episode: "" }]);
    const los = getTask("los");
    await writeListfile(dir, los, "train", [{ ...row("1", 3), time: 10 }, {
      ...row("2", 3),
      time: 5,
    }]);
    await writeListfile(dir, los, "val", []);
    await writeListfile(dir, los, "test", [{ ...row("4", 9), time: 7 }]);

    const card = await buildDatasetCard(dir, {
      title: "Test card",
      cohort: [{ step: "all", stays: 4 }],
      cleaning: { "Heart Rate": { kept: 3, "rejected: outlier_high": 1 } },
      elapsedSeconds: 1.5,
    });
    assertEquals(card.episodes, 2);
    assertEquals(card.tasks.ihm!.samples, { train: 2, val: 1, test: 1, total: 4 });
    assertEquals(card.tasks.ihm!.prevalence, { y_true: 0.5 });
    assertEquals(card.tasks.ihm!.missing, { ehr: 0.25, cxr: 0.75, note: 0.75 });
    assertEquals(card.tasks.los!.prevalence, { "3": 2, "9": 1 });
    assertEquals(card.tasks.phe, undefined);
    assertEquals(card.coverage["Heart Rate"], { episodes: 2, fraction: 1, values: 3 });
    assertAlmostEquals(card.coverage["pH"]!.fraction, 0.5);
    assertEquals(card.coverage["Glucose"]!.episodes, 0);

    await writeDatasetCard(dir, card);
    const md = await Deno.readTextFile(`${dir}/dataset_card.md`);
    assert(md.startsWith("# Test card"));
    assert(
      md.includes("| ihm (in-hospital-mortality) | 2 | 1 | 1 | 4 | 4 | 25.0% | 75.0% | 75.0% |"),
    );
    assert(md.includes("| Heart Rate | 3 |  | outlier_high 1 |"));
    assertEquals(
      JSON.parse(await Deno.readTextFile(`${dir}/dataset_card.json`)).tasks.ihm.samples.total,
      4,
    );
    // Precomputed coverage skips the episode scan.
    const quick = await buildDatasetCard(dir, { coverage: { episodes: 7, perChannel: {} } });
    assertEquals(quick.episodes, 7);
    assert(renderDatasetCard(quick).includes("7 episode files"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
