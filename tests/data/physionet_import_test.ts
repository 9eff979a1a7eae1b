import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
import {
  importPhysionet2012,
  parseChallengeTime,
  parseOutcomes,
  recordObservations,
} from "../../src/data/import/physionet2012.ts";
import { CleaningLog } from "../../src/data/extract/episode_sink.ts";
import { loadExtractResources } from "../../src/data/extract/resources.ts";
import { parseCsv } from "../../src/data/csv.ts";
import { parseEpisodeCsv } from "../../src/features/episode.ts";
import { SPLITS } from "../../src/data/tasks.ts";
import { readStayMetadata } from "../../src/data/stay_metadata.ts";

const P12 = "data/physionet-2012";

Deno.test({
  name: "import physionet2012: set A gives 4,000 stays with in-hospital mortality near 13.9%",
  ignore: sharedMissing(`${P12}/set-a`),
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "flexcare-p12-" });
    try {
      const r = await importPhysionet2012({
        inDir: `${SHARED_DIR}/${P12}`,
        outDir: out,
        sets: ["a"],
      });
      assertEquals(r.records, 4000);
      assertAlmostEquals(r.mortality, 554 / 4000, 1e-12);
      assertEquals(r.samples.ihm, 4000);
      assert(r.samples.dec! > 3900 && r.samples.los! > 3850);
      const ihm = r.card.tasks.ihm!;
      assertEquals(ihm.samples, { train: 2800, val: 400, test: 800, total: 4000 });
      assertAlmostEquals(ihm.prevalence.y_true!, 0.1385, 1e-9);
      for (
        const channel of [
          "Heart Rate",
          "Systolic blood pressure",
          "Glascow coma scale total",
          "Height",
        ]
      ) {
        assert(r.card.coverage[channel]!.episodes > 1000, channel);
      }
      assertEquals(r.card.coverage["Capillary refill rate"]!.episodes, 0);
      assertEquals(r.card.cleaning["Height"]!["rejected: missing marker -1"]! > 0, true);
      // Every DEC/LOS time lies in (4, 48] and records never cross splits.
      const splitOf = new Map<string, string>();
      for (const folder of ["in-hospital-mortality", "decompensation", "length-of-stay"]) {
        for (const split of SPLITS) {
          const rows = parseCsv(
            await Deno.readTextFile(`${out}/${folder}/${split}_multimodal_listfile.csv`),
          ).slice(1);
          for (const { fields } of rows) {
            assertEquals(splitOf.get(fields[0]!) ?? split, split);
            splitOf.set(fields[0]!, split);
            const t = Number(fields[3]);
            assert(t > 4 && t <= 48, `${folder} time ${t}`);
          }
        }
      }
      const episode = await Deno.readTextFile(`${out}/ehr/132539_episode1_timeseries.csv`);
      assert(parseEpisodeCsv(episode).length > 100);
      // stays.csv: every record's unit, age and sex, equal to its own descriptor rows.
      const metadata = await readStayMetadata(out);
      assertEquals(metadata.size, 4000);
      const units = new Map<string, number>();
      for (const m of metadata.values()) units.set(m.unit, (units.get(m.unit) ?? 0) + 1);
      assertEquals([...units.keys()].sort(), ["CCU", "CSRU", "MICU", "SICU"]);
      let checked = 0;
      for (
        const name of [...Deno.readDirSync(`${SHARED_DIR}/${P12}/set-a`)].map((e) => e.name).sort()
          .slice(0, 200)
      ) {
        const text = await Deno.readTextFile(`${SHARED_DIR}/${P12}/set-a/${name}`);
        const row = (p: string) =>
          text.split("\n").find((l) => l.startsWith(`00:00,${p},`))!.split(",")[2]!;
        const m = metadata.get(name.replace(".txt", ""))!;
        assertEquals(m.unit, ["", "CCU", "CSRU", "MICU", "SICU"][Number(row("ICUType"))]);
        assertEquals(m.sex, { "0": "F", "1": "M" }[row("Gender")] ?? "");
        assertEquals(m.age, Number(row("Age")));
        checked++;
      }
      assertEquals(checked, 200);
      assertEquals(metadata.get("132539"), {
        stayId: "132539",
        subjectId: "132539",
        unit: "SICU",
        age: 54,
        sex: "F",
        admissionType: "",
      });
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("physionet2012: times, outcomes, channel mapping and the pressure merge", async () => {
  assertEquals(parseChallengeTime("00:00"), 0);
  assertEquals(parseChallengeTime("47:30"), 47.5);
  assert(Number.isNaN(parseChallengeTime("7.5")));
  const outcomes = parseOutcomes(
    "RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death\n1,6,1,-1,3,1\n",
  );
  assertEquals(outcomes.get("1")!.survivalDays, 3);
  assert(Number.isNaN(outcomes.get("1")!.lengthOfStayDays));
  assertThrows(
    () => parseOutcomes("RecordID,Length_of_stay,Survival,In-hospital_death\n1,2,3,x\n", "o.txt"),
    SyntaxError,
    "o.txt:2",
  );

  const { ranges } = await loadExtractResources();
  const log = new CleaningLog();
  const obs = recordObservations(
    [
      "Time,Parameter,Value",
      "00:00,RecordID,1",
      "00:00,Age,54",
      "00:00,Height,170.2",
      "00:00,Weight,-1",
      "00:07,GCS,15",
      "00:07,NISysABP,147",
      "00:07,NIDiasABP,65",
      "00:07,DiasABP,0",
      "00:07,Temp,35.1",
      "00:07,Urine,900",
      "01:07,SysABP,131",
      "01:07,NISysABP,150",
      "01:07,SaO2,97",
      "01:07,FiO2,0.5",
      "02:00,MAP,90",
      "02:00,pH,7.31",
      "03:00,HR,390.5",
    ].join("\n"),
    { log, ranges },
  );
  const pick = (channel: string) =>
    obs.filter((o) => o.channel === channel).map((o) => [o.hours, o.value]);
  assertEquals(pick("Height"), [[0, 170.2]]);
  assertEquals(pick("Weight"), []);
  assertEquals(pick("Glascow coma scale total"), [[7 / 60, "15"]]);
  assertEquals(pick("Systolic blood pressure"), [[7 / 60, 147], [1 + 7 / 60, 131]]);
  assertEquals(pick("Diastolic blood pressure"), [[7 / 60, 65]]); // invasive 0 refused
  assertEquals(pick("Oxygen saturation"), [[1 + 7 / 60, 97]]);
  assertEquals(pick("Fraction inspired oxygen"), [[1 + 7 / 60, 0.5]]);
  assertEquals(pick("Mean blood pressure"), [[2, 90]]);
  assertEquals(pick("Heart Rate"), []); // above the outlier bound 390
  const counts = log.toJSON();
  assertEquals(counts["Weight"], { "rejected: missing marker -1": 1 });
  assertEquals(counts["DiasABP"], { "rejected: zero pressure (artefact)": 1 });
  assertEquals(counts["NISysABP"]!["merged: dropped for invasive value at same time"], 1);
  assertEquals(counts["Urine"], { "skipped: no matching channel": 1 });
  assertEquals(counts["HR"], { "rejected: outlier_high": 1 });
});

Deno.test("import physionet2012: labels of a synthetic set", async () => {
  const root = await Deno.makeTempDir({ prefix: "flexcare-p12-synth-" });
  try {
    await Deno.mkdir(`${root}/in/set-z`, { recursive: true });
    const lines = ["Time,Parameter,Value", "00:00,RecordID,ID", "00:00,Height,-1"];
    for (let h = 0; h < 48; h++) lines.push(`${String(h).padStart(2, "0")}:30,HR,80`);
    for (const id of ["10", "11", "12"]) {
      await Deno.writeTextFile(
        `${root}/in/set-z/${id}.txt`,
        lines.join("\n").replace("ID", id) + "\n",
      );
    }
    await Deno.writeTextFile(
      `${root}/in/Outcomes-z.txt`,
      "RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death\n10,1,1,2,2,1\n11,1,1,30,-1,0\n12,1,1,-1,-1,0\n",
    );
    const r = await importPhysionet2012({ inDir: `${root}/in`, outDir: `${root}/out`, seed: 1 });
    assertEquals(r.records, 3);
    assertEquals(r.samples, { ihm: 3, dec: 3, los: 2 });
    const rows = async (folder: string) => {
      const all: string[][] = [];
      for (const split of SPLITS) {
        const text = await Deno.readTextFile(
          `${root}/out/${folder}/${split}_multimodal_listfile.csv`,
        );
        all.push(...parseCsv(text).slice(1).map((x) => x.fields));
      }
      return all.sort((a, b) => a[0]!.localeCompare(b[0]!));
    };
    assertEquals((await rows("in-hospital-mortality")).map((x) => [x[0], x[3], x[6]]), [
      ["10", "48", "1"],
      ["11", "48", "0"],
      ["12", "48", "0"],
    ]);
    const dec = await rows("decompensation");
    // Record 10 died at hour 48: label 1 exactly when fewer than 24 hours are left.
    const t10 = Number(dec[0]![3]);
    assertEquals(dec[0]![6], 48 - t10 < 24 ? "1" : "0");
    assertEquals(dec[1]![6], "0");
    const los = await rows("length-of-stay");
    assertEquals(los.map((x) => x[0]), ["10", "11"]);
    const t11 = Number(los[1]![3]);
    assertEquals(los[1]![6], String(Math.min(9, 720 - t11 >= 336 ? 9 : 8)));
    assert(await Deno.stat(`${root}/out/dataset_card.json`).then(() => true));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
