import { assert, assertEquals, assertThrows } from "../assert.ts";
import { discretize } from "../../src/features/discretizer.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";
import { parseEpisodeCsv } from "../../src/features/episode.ts";
import { FeatureInputError } from "../../src/features/errors.ts";
import { NORMALIZER_PH, standardize } from "../../src/features/normalizer.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";

const FIXTURES = `${SHARED_DIR}/reference/features-fixtures`;

interface Expected {
  end: number;
  header: string[];
  raw: number[][];
  standardized_ph: number[][];
}

function maxAbsDiff(data: Float64Array, columns: number, expected: number[][]): number {
  let worst = 0;
  expected.forEach((row, r) =>
    row.forEach((v, c) => {
      worst = Math.max(worst, Math.abs(data[r * columns + c]! - v));
    })
  );
  return worst;
}

Deno.test({
  name: "discretize reproduces the reference fixtures (raw and standardized) to 1e-6",
  ignore: sharedMissing("reference/features-fixtures"),
  fn: async () => {
    let count = 0;
    for await (const entry of Deno.readDir(FIXTURES)) {
      if (!entry.name.endsWith(".expected.json")) continue;
      const expected: Expected = JSON.parse(await Deno.readTextFile(`${FIXTURES}/${entry.name}`));
      const csvName = entry.name.replace(".expected.json", ".csv");
      const obs = parseEpisodeCsv(await Deno.readTextFile(`${FIXTURES}/${csvName}`), {
        source: csvName,
      });
      const raw = discretize(obs, expected.end);
      assertEquals([...REFERENCE_CONFIG.header], expected.header);
      assertEquals(raw.rows, expected.raw.length, csvName);
      assert(maxAbsDiff(raw.data, 76, expected.raw) <= 1e-6, `${csvName} raw`);
      const std = standardize(raw, NORMALIZER_PH);
      assert(maxAbsDiff(std.data, 76, expected.standardized_ph) <= 1e-6, `${csvName} standardized`);
      count++;
    }
    assertEquals(count, 12);
  },
});

Deno.test("bins: hour 3.0 lands in bin 2, hour 0 and -0.5 in bin 0, later rows win", () => {
  const m = discretize([
    { hours: -0.5, channel: "Heart Rate", value: 70 },
    { hours: 0, channel: "Heart Rate", value: 71 },
    { hours: 3.0, channel: "Heart Rate", value: 80 },
    { hours: 2.5, channel: "Respiratory rate", value: 12 },
    { hours: 3.0, channel: "Respiratory rate", value: 14 },
  ], 3.5);
  const hr = REFERENCE_CONFIG.beginColumn[REFERENCE_CONFIG.channelIndex.get("Heart Rate")!]!;
  const rr = REFERENCE_CONFIG.beginColumn[REFERENCE_CONFIG.channelIndex.get("Respiratory rate")!]!;
  assertEquals(m.rows, 4);
  const at = (r: number, c: number) => m.data[r * 76 + c];
  assertEquals([at(0, hr), at(1, hr), at(2, hr), at(3, hr)], [71, 71, 80, 80]);
  assertEquals([at(0, rr), at(1, rr), at(2, rr)], [19, 19, 14]);
  const hrMask = 59 + REFERENCE_CONFIG.channelIndex.get("Heart Rate")!;
  assertEquals([at(0, hrMask), at(1, hrMask), at(2, hrMask), at(3, hrMask)], [1, 0, 1, 0]);
});

Deno.test("rows after the prediction time are ignored; a row past the last bin is an error", () => {
  const m = discretize([
    { hours: 1, channel: "Heart Rate", value: 70 },
    { hours: 2.6, channel: "Heart Rate", value: 99 },
  ], 2.5);
  assertEquals(m.rows, 3);
  assertEquals(m.data[2 * 76 + 50], 70);
  const error = assertThrows(
    () => discretize([{ hours: 3.0000015, channel: "Heart Rate", value: 70 }], 3.0000009),
    FeatureInputError,
  );
  assertEquals(error.problem, "time_out_of_range");
});

Deno.test("bad values raise a typed error naming channel, value and hour", () => {
  const cases: [string, string | number, number, FeatureInputError["problem"]][] = [
    ["Glascow coma scale total", "16", 1, "unknown_category"],
    ["Heart Rate", "fast", 2, "not_a_number"],
    ["Heart Rate", "NaN", 2, "not_finite"],
    ["Heart Rate", Number.POSITIVE_INFINITY, 2, "not_finite"],
    ["Heart Rate", 80, -1, "time_out_of_range"],
    ["Heart Rate", 80, Number.NaN, "time_out_of_range"],
    ["Heart rhythm", 80, 1, "unknown_channel"],
  ];
  for (const [channel, value, hours, problem] of cases) {
    const error = assertThrows(() => discretize([{ hours, channel, value }], 5), FeatureInputError);
    assertEquals(error.problem, problem, `${channel} ${value}`);
    assertEquals(error.channel, channel);
    assertEquals(error.hour, hours);
    assert(error.message.includes(channel), error.message);
  }
});

Deno.test("categorical values accept their exact text and an equal number", () => {
  const m = discretize([
    { hours: 0.5, channel: "Glascow coma scale total", value: 9 },
    { hours: 0.5, channel: "Capillary refill rate", value: "1.0" },
  ], 1);
  const total = REFERENCE_CONFIG.header.indexOf("Glascow coma scale total->9");
  const refill = REFERENCE_CONFIG.header.indexOf("Capillary refill rate->1.0");
  assertEquals(m.data[total], 1);
  assertEquals(m.data[refill], 1);
});

Deno.test("episode CSV errors name the file and line", () => {
  const text = "Hours,Heart Rate\n0.5,80\n1.5,abc\n";
  const error = assertThrows(() => parseEpisodeCsv(text, { source: "ep.csv" }), FeatureInputError);
  assert(error.message.startsWith("ep.csv:3:"), error.message);
  assertThrows(() => parseEpisodeCsv("Hours,Pulse\n", { source: "ep.csv" }), SyntaxError, "Pulse");
  assertThrows(
    () => parseEpisodeCsv("Hours,Heart Rate\n1,2,3\n", { source: "ep.csv" }),
    SyntaxError,
    "ep.csv:2",
  );
});
