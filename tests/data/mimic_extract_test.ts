import { assert, assertEquals } from "../assert.ts";
import { readStayMetadata } from "../../src/data/stay_metadata.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
import { extractMimic } from "../../src/data/extract/mimic.ts";
import { readSamples } from "../../src/data/dataset.ts";
import { parseCsv } from "../../src/data/csv.ts";
import { parseEpisodeCsv } from "../../src/features/episode.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";
import { getTask, SPLITS } from "../../src/data/tasks.ts";

const DEMO = "data/mimic-iii-demo";

async function listfileRows(dir: string, folder: string): Promise<Map<string, string[][]>> {
  const out = new Map<string, string[][]>();
  for (const split of SPLITS) {
    const text = await Deno.readTextFile(`${dir}/${folder}/${split}_multimodal_listfile.csv`);
    out.set(split, parseCsv(text).slice(1).map((r) => r.fields));
  }
  return out;
}

Deno.test({
  name: "extract mimic: the MIMIC-III demo gives plausible counts, 17 covered channels, six tasks",
  ignore: sharedMissing(DEMO),
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "flexcare-mimic-" });
    try {
      const r = await extractMimic({ inDir: `${SHARED_DIR}/${DEMO}`, outDir: out });
      assertEquals(r.flavor, "mimic-iii");
      assert(r.stays >= 100 && r.stays <= 136, `stays ${r.stays}`);
      assert(r.episodes >= 100 && r.episodes <= r.stays, `episodes ${r.episodes}`);
      for (const code of ["ihm", "dec", "phe", "los", "rea", "drg"] as const) {
        assert((r.samples[code] ?? 0) > 0, `task ${code} is empty`);
      }
      assert(r.samples.dia === undefined);
      // stays.csv: the cohort's stays with MIMIC-III's care units, ages, sexes, admission types.
      const metadata = await readStayMetadata(out);
      assertEquals(metadata.size, r.stays);
      const known = new Set(["CCU", "CSRU", "MICU", "SICU", "TSICU"]);
      for (const m of metadata.values()) {
        assert(known.has(m.unit), `unit ${m.unit}`);
        assert(m.sex === "F" || m.sex === "M", `sex ${m.sex}`);
        assert(m.age >= 15, `age ${m.age}`);
        assert(["EMERGENCY", "ELECTIVE", "URGENT"].includes(m.admissionType), m.admissionType);
      }
      for (const channel of REFERENCE_CONFIG.channels) {
        assert(r.card.coverage[channel]!.episodes > 0, `channel ${channel} has no coverage`);
      }
      // Every episode named by a listfile exists and reads back; subjects never cross splits.
      const splitOf = new Map<string, string>();
      for (const code of ["ihm", "dec", "phe", "los", "rea", "drg"]) {
        const task = getTask(code);
        for (const [split, rows] of await listfileRows(out, task.folder)) {
          for (const row of rows) {
            assertEquals(row.length, 6 + task.labelColumns.length);
            assertEquals(splitOf.get(row[0]!) ?? split, split, `subject ${row[0]} in two splits`);
            splitOf.set(row[0]!, split);
            if (row[2] !== "") {
              const text = await Deno.readTextFile(`${out}/ehr/${row[2]}`);
              assert(parseEpisodeCsv(text).length > 0);
            }
          }
        }
      }
      const ihm = r.card.tasks.ihm!;
      assert(ihm.prevalence.y_true! > 0.1 && ihm.prevalence.y_true! < 0.6);
      const drgTable = await Deno.readTextFile(`${out}/drg/drg_classes.csv`);
      assert(drgTable.startsWith("class,drg_type,drg_code,description,admissions\n"));
      const md = await Deno.readTextFile(`${out}/dataset_card.md`);
      assert(md.includes("## Cleaning (every value counted)"));
      const json = JSON.parse(await Deno.readTextFile(`${out}/dataset_card.json`));
      assert(json.cleaning["Temperature"]["cleaned: fahrenheit_to_celsius"] > 0);
      assert(
        (await Array.fromAsync(Deno.readDir(out))).every((e) => !e.name.startsWith(".extract-tmp")),
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

// ---- A tiny synthetic MIMIC-IV folder (written by the test) with CXR and notes -------------

async function writeGz(path: string, text: string): Promise<void> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(path, new Uint8Array(await new Response(stream).arrayBuffer()));
}

async function writeMimicIv(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/hosp`, { recursive: true });
  await Deno.mkdir(`${dir}/icu`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/hosp/patients.csv`,
    "subject_id,gender,anchor_age,anchor_year,anchor_year_group,dod\n" +
      "1,F,70,2150,2008 - 2010,2150-01-03\n2,M,50,2150,2008 - 2010,\n3,M,10,2150,2008 - 2010,\n",
  );
  await Deno.writeTextFile(
    `${dir}/hosp/admissions.csv`,
    "subject_id,hadm_id,admittime,dischtime,deathtime,race\n" +
      "1,11,2150-01-01 00:00:00,2150-01-03 13:00:00,2150-01-03 13:00:00,WHITE\n" +
      "2,21,2150-02-01 00:00:00,2150-02-05 00:00:00,,WHITE\n" +
      "2,22,2150-02-20 00:00:00,2150-02-25 00:00:00,,WHITE\n" +
      "3,31,2150-03-01 00:00:00,2150-03-05 00:00:00,,WHITE\n",
  );
  await Deno.writeTextFile(
    `${dir}/icu/icustays.csv`,
    "subject_id,hadm_id,stay_id,first_careunit,last_careunit,intime,outtime,los\n" +
      "1,11,111,MICU,MICU,2150-01-01 01:00:00,2150-01-03 13:00:00,2.5\n" +
      "2,21,211,SICU,SICU,2150-02-01 02:00:00,2150-02-02 08:00:00,1.25\n" +
      "2,22,221,SICU,SICU,2150-02-20 02:00:00,2150-02-22 02:00:00,2\n" +
      "3,31,311,MICU,MICU,2150-03-01 02:00:00,2150-03-02 02:00:00,1\n",
  );
  const chart = [
    "subject_id,hadm_id,stay_id,caregiver_id,charttime,storetime,itemid,value,valuenum,valueuom,warning",
  ];
  const add = (s: number, h: number, stay: number, time: string, item: number, v: string, u = "") =>
    chart.push(`${s},${h},${stay},1,${time},${time},${item},"${v}",,${u},0`);
  for (let hour = 1; hour <= 59; hour += 2) {
    const time = new Date(Date.UTC(2150, 0, 1, 1 + hour)).toISOString().replace("T", " ").slice(
      0,
      19,
    );
    add(1, 11, 111, time, 220045, String(80 + hour));
  }
  add(1, 11, 111, "2150-01-01 02:00:00", 223761, "98.6", "°F");
  add(1, 11, 111, "2150-01-01 02:00:00", 220739, "Spontaneously");
  add(1, 11, 111, "2150-01-01 02:00:00", 223835, "40");
  add(1, 11, 111, "2150-01-01 02:00:00", 226531, "176", "lb");
  add(1, 11, 111, "2150-01-01 03:00:00", 220045, "1000"); // outlier
  add(1, 11, 111, "2150-01-01 03:00:00", 223900, "Nonsense"); // unknown category
  add(1, 11, 111, "2149-12-30 03:00:00", 220045, "90"); // before the stay
  add(2, 21, 211, "2150-02-01 03:00:00", 220045, "70");
  add(2, 21, 211, "2150-02-01 20:00:00", 220045, "72");
  add(2, 22, 221, "2150-02-20 05:00:00", 220045, "75");
  add(3, 31, 311, "2150-03-01 05:00:00", 220045, "120");
  add(2, 21, 211, "2150-02-01 03:00:00", 999999, "1"); // not one of the 17 variables
  await writeGz(`${dir}/icu/chartevents.csv.gz`, chart.join("\n") + "\n");
  await Deno.writeTextFile(
    `${dir}/hosp/labevents.csv`,
    "labevent_id,subject_id,hadm_id,specimen_id,itemid,charttime,storetime,value,valuenum,valueuom\n" +
      "1,1,,1,50931,2150-01-01 04:00:00,,120,120,mg/dL\n2,1,,1,50820,2150-01-01 04:00:00,,7.31,7.31,units\n",
  );
  await Deno.writeTextFile(
    `${dir}/hosp/diagnoses_icd.csv`,
    "subject_id,hadm_id,seq_num,icd_code,icd_version\n1,11,1,A419,10\n1,11,2,R6521,10\n2,21,1,4019,9\n",
  );
  await Deno.writeTextFile(
    `${dir}/hosp/drgcodes.csv`,
    "subject_id,hadm_id,drg_type,drg_code,description,drg_severity,drg_mortality\n" +
      "1,11,HCFA,871,SEPSIS,,\n1,11,APR,720,SEPTICEMIA,4,4\n2,21,HCFA,292,HEART FAILURE,,\n2,22,HCFA,871,SEPSIS,,\n",
  );
}

async function writeCxrAndNotes(cxr: string, notes: string): Promise<void> {
  await Deno.mkdir(cxr, { recursive: true });
  await Deno.mkdir(`${notes}/note`, { recursive: true });
  await Deno.writeTextFile(
    `${cxr}/mimic-cxr-2.0.0-metadata.csv`,
    "dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime\n" +
      "d1,1,501,CHEST (PORTABLE AP),AP,10,10,21500101,100000.0\n" +
      "d2,1,502,CHEST (PA AND LAT),PA,10,10,21500102,100000.0\n" +
      "d3,1,503,CHEST (PORTABLE AP),AP,10,10,21500102,110000.5\n",
  );
  await Deno.writeTextFile(
    `${cxr}/mimic-cxr-2.0.0-chexpert.csv`,
    "subject_id,study_id,Atelectasis,Cardiomegaly,Consolidation,Edema,Enlarged Cardiomediastinum,Fracture,Lung Lesion,Lung Opacity,No Finding,Pleural Effusion,Pleural Other,Pneumonia,Pneumothorax,Support Devices\n" +
      "1,501,1.0,,,-1.0,,,,,,,,,,1.0\n1,503,,,,,,,,1.0,,,,,,\n",
  );
  await Deno.writeTextFile(
    `${notes}/note/discharge.csv`,
    "note_id,subject_id,hadm_id,note_type,note_seq,charttime,storetime,text\n" +
      '1,1,11,DS,1,2150-01-03 00:00:00,,"Past Medical History:\nCOPD, HTN.\nSocial History:\nnone\nBrief Hospital Course:\nTreated for sepsis.\nMedications on Admission:\nnone"\n',
  );
}

Deno.test("extract mimic: a synthetic MIMIC-IV folder with CXR and notes", async () => {
  const root = await Deno.makeTempDir({ prefix: "flexcare-mimic-iv-" });
  try {
    await writeMimicIv(`${root}/mimic`);
    await writeCxrAndNotes(`${root}/cxr`, `${root}/notes`);
    await Deno.mkdir(`${root}/cxr/files/p1/p1/s501`, { recursive: true });
    await Deno.writeFile(`${root}/cxr/files/p1/p1/s501/d1.jpg`, new Uint8Array([0xff, 0xd8, 1, 2]));
    const out = `${root}/out`;
    const r = await extractMimic({
      inDir: `${root}/mimic`,
      outDir: out,
      cxrDir: `${root}/cxr`,
      notesDir: `${root}/notes`,
      bufferBytes: 64, // force many flushes to the per-stay temporary files
    });
    assertEquals(r.flavor, "mimic-iv");
    assertEquals(r.stays, 3); // subject 3 is a child
    const all = async (folder: string) => [...(await listfileRows(out, folder)).values()].flat();
    const ihm = await all("in-hospital-mortality");
    // Stay 211 lasted 30 hours: too short for in-hospital mortality.
    assertEquals(ihm.map((row) => [row[1], row[3], row[6]]).sort(), [["111", "48", "1"], [
      "221",
      "48",
      "0",
    ]]);
    const ihm111 = ihm.find((row) => row[1] === "111")!;
    assertEquals(ihm111[4], "d3"); // latest AP image within the first 48 hours (d2 is PA)
    assertEquals(ihm111[5], "copd htn");
    const phe = await all("phenotyping");
    const sepsis = getTask("phe").labelColumns.indexOf("Septicemia (except in labor)");
    assertEquals(phe.find((row) => row[1] === "111")![6 + sepsis], "1");
    const rea = await all("readmission");
    assertEquals(rea.map((row) => [row[1], row[6]]).sort(), [["211", "1"], ["221", "0"]]);
    const drg = await all("drg");
    assertEquals(drg.find((row) => row[1] === "111")![5], "treated for sepsis");
    const classes = parseCsv(await Deno.readTextFile(`${out}/drg/drg_classes.csv`)).slice(1);
    assertEquals(classes.map((c) => c.fields.slice(0, 3)), [["0", "HCFA", "292"], [
      "1",
      "HCFA",
      "871",
    ]]);
    const dia = await all("diagnosis");
    assertEquals(dia.map((row) => [row[4], ...row.slice(6, 10)]).sort(), [
      ["d1", "1", "0", "0", "-1"],
      ["d3", "0", "0", "0", "0"],
    ]);
    assertEquals(dia.find((row) => row[4] === "d3")![2], "1_episode1_timeseries.csv");
    const episode = parseEpisodeCsv(
      await Deno.readTextFile(`${out}/ehr/1_episode1_timeseries.csv`),
    );
    const at1 = episode.filter((o) => o.hours === 1);
    assertEquals(at1.map((o) => [o.channel, o.value]).sort(), [
      ["Fraction inspired oxygen", "0.4"],
      ["Glascow coma scale eye opening", "Spontaneously"],
      ["Heart Rate", "81"],
      ["Temperature", "37"],
      ["Weight", "79.832192"],
    ]);
    assert(!episode.some((o) => o.channel === "Heart Rate" && Number(o.value) > 390));
    const cleaning = r.card.cleaning;
    assertEquals(cleaning["Heart Rate"]!["rejected: outlier_high"], 1);
    assertEquals(cleaning["Heart Rate"]!["skipped: outside ICU stay window"], 1);
    assertEquals(cleaning["Heart Rate"]!["skipped: patient not in cohort"], 1);
    assertEquals(cleaning["Glascow coma scale verbal response"]!["rejected: unknown_category"], 1);
    assertEquals(cleaning["(event rows)"]!["chartevents rows of other items"], 1);
    assertEquals(r.card.tasks.dia!.missing.note, 0);
    const sources = await Deno.readTextFile(`${out}/cxr/image_sources.csv`);
    assert(sources.includes("d1,files/p1/p1/s501/d1.jpg"));
    // Listed images found in the CXR folder are placed where the dataset reader looks.
    assertEquals(
      await Deno.readFile(`${out}/cxr/resized/d1.jpg`),
      new Uint8Array([0xff, 0xd8, 1, 2]),
    );
    assert(r.card.notes.some((n: string) => n.includes("1 placed") && n.includes("not found")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "extract mimic: every written sample of the demo reads back and has a modality",
  ignore: sharedMissing("data/mimic-iii-demo"),
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "flexcare-mimic-read-" });
    try {
      await extractMimic({
        inDir: `${SHARED_DIR}/data/mimic-iii-demo`,
        outDir: out,
        progress: false,
      });
      let n = 0;
      for (const task of ["ihm", "dec", "phe", "los", "rea", "drg"]) {
        for (const split of SPLITS) {
          for await (const sample of readSamples(out, task, split)) {
            assert(
              sample.modalities.timeseries || sample.modalities.image || sample.modalities.note,
            );
            n++;
          }
        }
      }
      assert(n > 300, `${n} samples`);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
