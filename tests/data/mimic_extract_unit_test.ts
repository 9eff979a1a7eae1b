import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import {
  applyRange,
  cleanAndCheck,
  cleanValue,
  gcsCategory,
} from "../../src/data/extract/clean.ts";
import { buildCohort, type IcuStayRecord } from "../../src/data/extract/cohort.ts";
import {
  decompensationLabel,
  decompensationTimes,
  inHospitalMortality,
  lengthOfStayLabel,
  lengthOfStayTimes,
  phenotypeLabels,
} from "../../src/data/extract/labels.ts";
import { loadExtractResources } from "../../src/data/extract/resources.ts";
import { parseMimicTime } from "../../src/data/extract/mimic_tables.ts";
import { assignSplits } from "../../src/data/splits.ts";
import { parseYamlLite } from "../../src/data/yaml_lite.ts";
import { PHENOTYPE_LABELS } from "../../src/data/tasks.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";

const value = (r: ReturnType<typeof cleanValue>) => {
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  return r.value;
};

Deno.test("unit cleaning: temperature, weight, height, FiO2, SaO2, blood pressure", () => {
  assertAlmostEquals(
    Number(value(cleanValue("Temperature", { value: "98.6", unit: "?F" }))),
    37,
    1e-9,
  );
  assertAlmostEquals(
    Number(value(cleanValue("Temperature", { value: "100.4", label: "Temperature F" }))),
    38,
    1e-9,
  );
  assertAlmostEquals(Number(value(cleanValue("Temperature", { value: "99.5" }))), 37.5, 1e-9); // >= 79 rule
  assertEquals(value(cleanValue("Temperature", { value: "37.2", unit: "?C" })), 37.2);
  assertAlmostEquals(
    Number(value(cleanValue("Weight", { value: "176", unit: "lbs" }))),
    79.832192,
    1e-9,
  );
  assertAlmostEquals(
    Number(value(cleanValue("Weight", { value: "32", label: "Present Weight  (oz)" }))),
    0.907184,
    1e-9,
  );
  assertEquals(value(cleanValue("Weight", { value: "80", unit: "kg" })), 80);
  assertEquals(value(cleanValue("Height", { value: "70", unit: "Inch" })), 178);
  assertEquals(
    value(cleanValue("Height", { value: "170", label: "Height (cm)", unit: "cm" })),
    170,
  );
  assertEquals(value(cleanValue("Fraction inspired oxygen", { value: "50" })), 0.5);
  assertEquals(value(cleanValue("Fraction inspired oxygen", { value: "0.4" })), 0.4);
  assertEquals(value(cleanValue("Fraction inspired oxygen", { value: "150", unit: "torr" })), 150);
  assertEquals(value(cleanValue("Oxygen saturation", { value: "0.97" })), 97);
  assertEquals(value(cleanValue("Systolic blood pressure", { value: "120/80" })), 120);
  assertEquals(value(cleanValue("Diastolic blood pressure", { value: "120/80" })), 80);
  assertEquals(cleanValue("Glucose", { value: "ERROR" }), { ok: false, reason: "not_numeric" });
  assertEquals(cleanValue("Heart Rate", { value: "  " }), { ok: false, reason: "empty" });
});

Deno.test("unit cleaning: capillary refill text to 0/1", () => {
  assertEquals(value(cleanValue("Capillary refill rate", { value: "Normal <3 secs" })), "0.0");
  assertEquals(value(cleanValue("Capillary refill rate", { value: "Brisk" })), "0.0");
  assertEquals(value(cleanValue("Capillary refill rate", { value: "Abnormal >3 secs" })), "1.0");
  assertEquals(value(cleanValue("Capillary refill rate", { value: "Delayed" })), "1.0");
  assertEquals(cleanValue("Capillary refill rate", { value: "Comment" }), {
    ok: false,
    reason: "unknown_category",
  });
});

Deno.test("GCS mapping gives only categories of the discretizer", () => {
  const eye = "Glascow coma scale eye opening";
  const motor = "Glascow coma scale motor response";
  const verbal = "Glascow coma scale verbal response";
  const total = "Glascow coma scale total";
  assertEquals(gcsCategory(eye, "4 Spontaneously"), "4 Spontaneously"); // CareVue
  assertEquals(gcsCategory(eye, "Spontaneously"), "Spontaneously"); // MetaVision
  assertEquals(gcsCategory(eye, "to speech"), "To Speech");
  assertEquals(gcsCategory(eye, "3"), "3 To speech");
  assertEquals(gcsCategory(motor, "Obeys Commands"), "Obeys Commands");
  assertEquals(gcsCategory(motor, "5.0"), "5 Localizes Pain");
  assertEquals(gcsCategory(verbal, "No Response-ETT"), "No Response-ETT");
  assertEquals(gcsCategory(verbal, "1.0 ET/Trach"), "1.0 ET/Trach");
  assertEquals(gcsCategory(verbal, "6"), null);
  assertEquals(gcsCategory(total, "15"), "15");
  assertEquals(gcsCategory(total, "7.0"), "7");
  assertEquals(gcsCategory(total, "16"), null);
  assertEquals(gcsCategory(total, "Unable to score"), null);
  for (const channel of [eye, motor, verbal, total]) {
    const allowed = REFERENCE_CONFIG.possibleValues[REFERENCE_CONFIG.channelIndex.get(channel)!]!;
    for (let n = 0; n <= 16; n++) {
      const c = gcsCategory(channel, String(n));
      assert(c === null || allowed.includes(c), `${channel} ${n} -> ${c}`);
    }
  }
});

Deno.test("variable ranges: outliers refused, the rest clipped", () => {
  const range = { outlierLow: 0.2, validLow: 0.21, validHigh: 1, outlierHigh: 1.1 };
  assertEquals(applyRange(0.1, range), { ok: false, reason: "outlier_low" });
  assertEquals(applyRange(0.205, range), { ok: true, value: 0.21, actions: ["clipped_low"] });
  assertEquals(applyRange(1.05, range), { ok: true, value: 1, actions: ["clipped_high"] });
  assertEquals(applyRange(1.2, range), { ok: false, reason: "outlier_high" });
  const ranges = new Map([["fraction inspired oxygen", range]]);
  // 0 % FiO2 becomes 0 and is an outlier; 100 % becomes 1.
  assertEquals(cleanAndCheck("Fraction inspired oxygen", { value: "0" }, ranges).ok, false);
  assertEquals(value(cleanAndCheck("Fraction inspired oxygen", { value: "100" }, ranges)), 1);
});

Deno.test("bundled resources: 17 channels mapped, CCS groups for ICD-9 and ICD-10", async () => {
  const r = await loadExtractResources();
  const channels = new Set([...r.items.values()].map((i) => i.channel));
  assertEquals(channels.size, 17);
  assertEquals(r.items.get("220045")?.channel, "Heart Rate");
  assertEquals(r.items.get("678")?.label, "Temperature F");
  assertEquals(r.ccsIcd9.benchmarkGroups.size, 25);
  assertEquals(r.ccsIcd10.benchmarkGroups.size, 25);
  for (const g of r.ccsIcd9.benchmarkGroups) assert(PHENOTYPE_LABELS.includes(g), g);
  const sepsis = PHENOTYPE_LABELS.indexOf("Septicemia (except in labor)");
  const shock = PHENOTYPE_LABELS.indexOf("Shock");
  const y9 = phenotypeLabels(["0389", "78552", "V1201"], r.ccsIcd9);
  assertEquals([y9[sepsis], y9[shock], y9.reduce((a, b) => a + b)], [1, 1, 2]);
  const y10 = phenotypeLabels(["A41.9", "R65.21"], r.ccsIcd10);
  assertEquals(y10[sepsis], 1);
  assertEquals(y10[shock], 1);
  assertEquals(r.ranges.get("heart rate")?.outlierHigh, 390);
});

Deno.test("IHM, decompensation and length-of-stay labels", () => {
  const died = { losHours: 60, firstEventHours: 0.2, mortality: 1 as const, deathHours: 58 };
  assertEquals(inHospitalMortality(died), 1);
  assertEquals(inHospitalMortality({ ...died, losHours: 47.9 }), null);
  assertEquals(inHospitalMortality({ ...died, firstEventHours: 50 }), null);
  const decTimes = decompensationTimes(died);
  assertEquals(decTimes[0], 5);
  assertEquals(decTimes.at(-1), 58);
  assertEquals(decompensationLabel(died, 34), 0); // 24 h left exactly: not within
  assertEquals(decompensationLabel(died, 35), 1);
  const alive = { losHours: 30.5, firstEventHours: 6.5, mortality: 0 as const, deathHours: NaN };
  assertEquals(decompensationLabel(alive, 29), 0);
  assertEquals(lengthOfStayTimes(alive)[0], 7);
  assertEquals(lengthOfStayTimes(alive).at(-1), 30);
  assertEquals(lengthOfStayLabel(alive, 6), 1); // 24.5 h left
  assertEquals(lengthOfStayLabel(alive, 7), 0);
  assertEquals(lengthOfStayLabel({ ...alive, losHours: 400 }, 10), 9);
  assertEquals(decompensationTimes({ ...died, horizonHours: 48 }).at(-1), 48);
});

Deno.test("cohort: transfers, several stays per admission and children are left out", () => {
  const t = parseMimicTime;
  const stay = (o: Partial<IcuStayRecord>): IcuStayRecord => ({
    subjectId: "1",
    hadmId: "10",
    stayId: "100",
    intime: t("2100-01-01 10:00:00"),
    outtime: t("2100-01-03 10:00:00"),
    losHours: 48,
    firstCareunit: "MICU",
    lastCareunit: "MICU",
    firstWardid: "",
    lastWardid: "",
    ...o,
  });
  const { stays, funnel } = buildCohort(
    [
      stay({}),
      stay({ subjectId: "2", hadmId: "20", stayId: "200", lastCareunit: "SICU" }),
      stay({ subjectId: "3", hadmId: "30", stayId: "300" }),
      stay({ subjectId: "3", hadmId: "30", stayId: "301" }),
      stay({ subjectId: "4", hadmId: "40", stayId: "400" }),
      stay({
        subjectId: "1",
        hadmId: "11",
        stayId: "110",
        intime: t("2100-01-20 10:00:00"),
        outtime: t("2100-01-21 10:00:00"),
      }),
    ],
    [
      {
        subjectId: "1",
        hadmId: "10",
        admittime: t("2100-01-01 08:00:00"),
        dischtime: t("2100-01-05 08:00:00"),
        deathtime: NaN,
      },
      {
        subjectId: "1",
        hadmId: "11",
        admittime: t("2100-01-20 08:00:00"),
        dischtime: t("2100-01-22 08:00:00"),
        deathtime: t("2100-01-21 09:00:00"),
      },
      {
        subjectId: "2",
        hadmId: "20",
        admittime: t("2100-01-01 08:00:00"),
        dischtime: t("2100-01-05 08:00:00"),
        deathtime: NaN,
      },
      {
        subjectId: "3",
        hadmId: "30",
        admittime: t("2100-01-01 08:00:00"),
        dischtime: t("2100-01-05 08:00:00"),
        deathtime: NaN,
      },
      {
        subjectId: "4",
        hadmId: "40",
        admittime: t("2100-01-01 08:00:00"),
        dischtime: t("2100-01-05 08:00:00"),
        deathtime: NaN,
      },
    ],
    [
      {
        subjectId: "1",
        gender: "F",
        dob: t("2040-01-01"),
        dod: t("2100-01-21"),
        anchorAge: NaN,
        anchorYear: NaN,
      },
      {
        subjectId: "2",
        gender: "M",
        dob: t("2040-01-01"),
        dod: NaN,
        anchorAge: NaN,
        anchorYear: NaN,
      },
      {
        subjectId: "3",
        gender: "M",
        dob: t("2040-01-01"),
        dod: NaN,
        anchorAge: NaN,
        anchorYear: NaN,
      },
      {
        subjectId: "4",
        gender: "M",
        dob: t("2095-01-01"),
        dod: NaN,
        anchorAge: NaN,
        anchorYear: NaN,
      },
    ],
  );
  assertEquals(stays.map((s) => s.stayId), ["100", "110"]);
  assertEquals(funnel.map((f) => f.stays), [6, 5, 3, 2]);
  const [first, second] = stays as [typeof stays[0], typeof stays[0]];
  assertEquals([first.episode, second.episode], [1, 2]);
  assertEquals(first.readmission, 1); // back within 30 days
  assertEquals(second.mortalityInHospital, 1);
  assertEquals(second.mortalityInUnit, 1);
  assertEquals(second.readmission, null); // died in the ICU: excluded
  assertAlmostEquals(first.age, 60.04, 0.01);
});

Deno.test("splits are by id, 70/10/20, reproducible and order-independent", () => {
  const ids = Array.from({ length: 1000 }, (_, i) => String(i + 1));
  const a = assignSplits(ids, { seed: 3 });
  const b = assignSplits([...ids].reverse(), { seed: 3 });
  assertEquals([...a.entries()].sort(), [...b.entries()].sort());
  const counts = { train: 0, val: 0, test: 0 };
  for (const s of a.values()) counts[s]++;
  assertEquals(counts, { train: 700, val: 100, test: 200 });
  assert([...assignSplits(ids, { seed: 4 }).entries()].some(([k, v]) => a.get(k) !== v));
  assertThrows(() => assignSplits(ids, { fractions: { val: 0.6, test: 0.6 } }), RangeError);
});

Deno.test("yaml_lite reads both definition styles and names the bad line", () => {
  const doc = parseYamlLite(
    '"A; b":\n  use_in_benchmark: True\n  type: "acute"\n  id: 2\n  codes: [ "0031", "449" ]\n\nC:\n  codes:\n  - \'0389\'\n  - A419\n  use_in_benchmark: false\n',
  );
  assertEquals(doc["A; b"], {
    use_in_benchmark: true,
    type: "acute",
    id: 2,
    codes: ["0031", "449"],
  });
  assertEquals(doc["C"], { codes: ["0389", "A419"], use_in_benchmark: false });
  assertThrows(
    () => parseYamlLite("A:\n  codes: [ 1, 2\n", { source: "x.yaml" }),
    SyntaxError,
    "x.yaml:2",
  );
});
