import { assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import { discretize } from "../../src/features/discretizer.ts";
import {
  discretizerConfigFromJson,
  type DiscretizerJson,
  REFERENCE_CONFIG,
} from "../../src/features/discretizer_config.ts";
import REFERENCE_JSON from "../../src/features/reference/discretizer.json" with { type: "json" };
import { alertStats, thresholdAtSensitivity } from "../../src/eval/alert_burden.ts";
import { news2, type News2Parameter, type Vitals } from "../../src/eval/news2.ts";
import { news2FromMatrix, vitalsFromMatrix } from "../../src/eval/news2_matrix.ts";
import { news2Comparison } from "../../src/eval/news2_comparison.ts";

/** Every band edge of the RCP 2017 chart: [vital, value, parameter, expected score]. */
const EDGES: [keyof Vitals, number, News2Parameter, number][] = [
  ["respiratoryRate", 8, "respiratoryRate", 3],
  ["respiratoryRate", 9, "respiratoryRate", 1],
  ["respiratoryRate", 11, "respiratoryRate", 1],
  ["respiratoryRate", 12, "respiratoryRate", 0],
  ["respiratoryRate", 20, "respiratoryRate", 0],
  ["respiratoryRate", 21, "respiratoryRate", 2],
  ["respiratoryRate", 24, "respiratoryRate", 2],
  ["respiratoryRate", 25, "respiratoryRate", 3],
  ["spo2", 91, "spo2", 3],
  ["spo2", 92, "spo2", 2],
  ["spo2", 93, "spo2", 2],
  ["spo2", 94, "spo2", 1],
  ["spo2", 95, "spo2", 1],
  ["spo2", 96, "spo2", 0],
  ["systolicBp", 90, "systolicBp", 3],
  ["systolicBp", 91, "systolicBp", 2],
  ["systolicBp", 100, "systolicBp", 2],
  ["systolicBp", 101, "systolicBp", 1],
  ["systolicBp", 110, "systolicBp", 1],
  ["systolicBp", 111, "systolicBp", 0],
  ["systolicBp", 219, "systolicBp", 0],
  ["systolicBp", 220, "systolicBp", 3],
  ["heartRate", 40, "heartRate", 3],
  ["heartRate", 41, "heartRate", 1],
  ["heartRate", 50, "heartRate", 1],
  ["heartRate", 51, "heartRate", 0],
  ["heartRate", 90, "heartRate", 0],
  ["heartRate", 91, "heartRate", 1],
  ["heartRate", 110, "heartRate", 1],
  ["heartRate", 111, "heartRate", 2],
  ["heartRate", 130, "heartRate", 2],
  ["heartRate", 131, "heartRate", 3],
  ["temperature", 35.0, "temperature", 3],
  ["temperature", 35.1, "temperature", 1],
  ["temperature", 36.0, "temperature", 1],
  ["temperature", 36.1, "temperature", 0],
  ["temperature", 38.0, "temperature", 0],
  ["temperature", 38.1, "temperature", 1],
  ["temperature", 39.0, "temperature", 1],
  ["temperature", 39.1, "temperature", 2],
  ["fio2", 0.21, "oxygen", 0],
  ["fio2", 0.22, "oxygen", 2],
  ["fio2", 21, "oxygen", 0],
  ["fio2", 28, "oxygen", 2],
  ["gcsTotal", 15, "consciousness", 0],
  ["gcsTotal", 14, "consciousness", 3],
  ["gcsTotal", 3, "consciousness", 3],
];

Deno.test("NEWS2 scores every band edge of the chart", () => {
  for (const [vital, value, parameter, expected] of EDGES) {
    const r = news2({ [vital]: value });
    assertEquals(r.components[parameter], expected, `${vital} = ${value}`);
    assertEquals(r.total, expected, `${vital} = ${value} total`);
  }
});

Deno.test("NEWS2 rounds to charted precision between bands", () => {
  assertEquals(news2({ respiratoryRate: 8.4 }).total, 3);
  assertEquals(news2({ respiratoryRate: 8.5 }).total, 1);
  assertEquals(news2({ heartRate: 90.49 }).total, 0);
  assertEquals(news2({ heartRate: 90.5 }).total, 1);
  assertEquals(news2({ temperature: 35.04 }).total, 3);
  assertEquals(news2({ temperature: 38.06 }).total, 1);
});

Deno.test("NEWS2 consciousness: lower of the GCS total and the component sum", () => {
  assertEquals(news2({ gcsEye: 4, gcsMotor: 6, gcsVerbal: 5 }).components.consciousness, 0);
  assertEquals(news2({ gcsEye: 4, gcsMotor: 6, gcsVerbal: 4 }).components.consciousness, 3);
  assertEquals(news2({ gcsTotal: 15, gcsEye: 3, gcsMotor: 6, gcsVerbal: 5 }).total, 3);
  assertEquals(news2({ gcsTotal: 13, gcsEye: 4, gcsMotor: 6, gcsVerbal: 5 }).total, 3);
  // Two components only: the sum is unknown, the total decides.
  assertEquals(news2({ gcsTotal: 15, gcsEye: 1, gcsMotor: 1 }).total, 0);
});

Deno.test("NEWS2 supplemental oxygen flag overrides FiO2", () => {
  assertEquals(news2({ fio2: 0.21, supplementalOxygen: true }).components.oxygen, 2);
  assertEquals(news2({ fio2: 0.5, supplementalOxygen: false }).components.oxygen, 0);
});

Deno.test("NEWS2 hand-computed cases and missing parameters", () => {
  // RR 22 (2), SpO2 94 (1), FiO2 0.35 (2), SBP 105 (1), HR 115 (2), GCS 15 (0), T 38.5 (1) = 9
  const r = news2({
    respiratoryRate: 22,
    spo2: 94,
    fio2: 0.35,
    systolicBp: 105,
    heartRate: 115,
    gcsTotal: 15,
    temperature: 38.5,
  });
  assertEquals(r.total, 9);
  assertEquals(r.missing, []);
  // All normal: 0
  const normal = news2({
    respiratoryRate: 16,
    spo2: 98,
    fio2: 0.21,
    systolicBp: 120,
    heartRate: 70,
    gcsTotal: 15,
    temperature: 37,
  });
  assertEquals(normal.total, 0);
  const empty = news2({ heartRate: Number.NaN });
  assertEquals(empty.total, 0);
  assertEquals(empty.missing.length, 7);
});

const EPISODE = [
  { hours: 0.5, channel: "Respiratory rate", value: 26 }, // 3
  { hours: 0.5, channel: "Oxygen saturation", value: 93 }, // 2
  { hours: 0.5, channel: "Fraction inspired oxygen", value: 0.4 }, // 2
  { hours: 1.5, channel: "Systolic blood pressure", value: 95 }, // 2
  { hours: 1.5, channel: "Heart Rate", value: 45 }, // 1
  { hours: 1.5, channel: "Glascow coma scale verbal response", value: "Confused" }, // 4 -> GCS 14: 3
  { hours: 1.5, channel: "Temperature", value: 35.8 }, // 1
];

Deno.test("NEWS2 from the raw feature matrix, by column name", () => {
  const m = discretize(EPISODE, 2);
  assertEquals(news2FromMatrix(m, { row: 0 }).total, 3 + 2 + 2); // later vitals still normal
  const last = news2FromMatrix(m);
  assertEquals(last.components, {
    respiratoryRate: 3,
    spo2: 2,
    oxygen: 2,
    systolicBp: 2,
    heartRate: 1,
    consciousness: 3,
    temperature: 1,
  });
  assertEquals(last.total, 14);
  const v = vitalsFromMatrix(m);
  assertEquals([v.gcsTotal, v.gcsEye, v.gcsMotor, v.gcsVerbal], [15, 4, 6, 4]);
  assertThrows(() => news2FromMatrix(m, { row: 5 }), RangeError, "outside");
});

Deno.test("NEWS2 from a matrix of a configuration with another column order", () => {
  const json = structuredClone(REFERENCE_JSON) as unknown as DiscretizerJson;
  json.channels = [...json.channels].reverse();
  delete json.feature_header;
  const config = discretizerConfigFromJson(json);
  const m = discretize(EPISODE, 2, { config });
  assertEquals(news2FromMatrix(m, { config }).total, 14);
  // Columns moved: reading by reference positions would be wrong, reading by name is not.
  assertEquals(
    config.header.indexOf("Heart Rate") === REFERENCE_CONFIG.header.indexOf("Heart Rate"),
    false,
  );
});

Deno.test("alert burden and matched sensitivity", () => {
  const labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
  const news = [9, 7, 5, 2, 8, 6, 5, 1, 0, 3];
  const probs = [0.9, 0.4, 0.8, 0.2, 0.5, 0.1, 0.3, 0.05, 0.15, 0.35];
  const at5 = alertStats(labels, news, 5);
  assertEquals([at5.alerts, at5.alertRate, at5.sensitivity, at5.ppv], [6, 0.6, 0.75, 0.5]);
  const t = thresholdAtSensitivity(labels, probs, 0.75);
  assertEquals(t, 0.4);
  const model = alertStats(labels, probs, t);
  assertEquals([model.alerts, model.sensitivity], [4, 0.75]);
  assertAlmostEquals(model.ppv, 0.75, 1e-12);
  const c = news2Comparison(news, probs, labels, { bootstrap: { resamples: 100, seed: 3 } });
  assertEquals(c.rows.map((r) => r.news2Threshold), [5, 7]);
  assertEquals(c.rows[0]!.model.alerts, 4);
  assertEquals(c.rows[1]!.news2.alerts, 3); // 9, 7, 8
  assertEquals(c.rows[1]!.news2.sensitivity, 0.5);
  assertEquals(c.rows[1]!.model.alerts, 2); // 0.9, 0.8
  assertEquals(c.prevalence, 0.4);
});
