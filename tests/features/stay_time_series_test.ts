import { assert, assertEquals, assertThrows } from "../assert.ts";
import { discretize } from "../../src/features/discretizer.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";
import { parseEpisodeCsv } from "../../src/features/episode.ts";
import { FeatureInputError } from "../../src/features/errors.ts";
import type { Observation } from "../../src/features/observation.ts";
import { StayTimeSeries } from "../../src/features/stay_time_series.ts";
import { seededRandom } from "../../src/data/random.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";

function shuffle<T>(items: T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A random episode with edge cases: exact hour boundaries, hour 0, repeats in a bin, text values. */
function randomObservations(rand: () => number, hours: number): Observation[] {
  const config = REFERENCE_CONFIG;
  const obs: Observation[] = [];
  const n = 5 + Math.floor(rand() * 200);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * config.channels.length);
    const r = rand();
    const t = r < 0.25
      ? Math.floor(rand() * hours)
      : r < 0.3
      ? 0
      : Math.round(rand() * hours * 1e4) / 1e4;
    const value = config.categorical[c]
      ? config.possibleValues[c]![Math.floor(rand() * config.possibleValues[c]!.length)]!
      : Math.round(rand() * 20000) / 100;
    obs.push({ hours: t, channel: config.channels[c]!, value });
  }
  return obs;
}

/** The batch form's input for observations that arrived in `arrival` order: stable by time. */
function inTimeOrder(arrival: Observation[]): Observation[] {
  return arrival.map((o, i) => ({ o, i })).sort((a, b) => a.o.hours - b.o.hours || a.i - b.i).map((
    x,
  ) => x.o);
}

function assertSameMatrix(
  a: { rows: number; data: Float64Array },
  b: { rows: number; data: Float64Array },
  label: string,
) {
  assertEquals(a.rows, b.rows, `${label}: rows`);
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] !== b.data[i]) {
      throw new Error(
        `${label}: differs at row ${Math.floor(i / 76)} column ${i % 76}: ${a.data[i]} vs ${
          b.data[i]
        }`,
      );
    }
  }
}

Deno.test("property: incremental equals batch over random arrival orders and prediction times", () => {
  const rand = seededRandom(20241127);
  for (let trial = 0; trial < 150; trial++) {
    const hours = 2 + Math.floor(rand() * 120);
    const arrival = shuffle(randomObservations(rand, hours), rand);
    const stay = new StayTimeSeries();
    let pos = 0;
    while (pos < arrival.length) {
      const size = 1 + Math.floor(rand() * 8);
      stay.add(arrival.slice(pos, pos + size));
      pos += size;
      // Query in between so cached rows must be invalidated by later, earlier-timed arrivals.
      const end = Math.max(0.01, rand() * hours);
      const known = arrival.slice(0, pos);
      assertSameMatrix(
        stay.matrix(end),
        discretize(inTimeOrder(known), end),
        `trial ${trial} partial end ${end}`,
      );
    }
    for (const end of [hours, hours - 0.5, Math.floor(hours / 2) + 0.25, 1, 0.5]) {
      assertSameMatrix(
        stay.matrix(end),
        discretize(inTimeOrder(arrival), end),
        `trial ${trial} end ${end}`,
      );
    }
  }
});

Deno.test({
  name: "incremental reproduces the reference fixtures from shuffled arrivals",
  ignore: sharedMissing("reference/features-fixtures"),
  fn: async () => {
    const dir = `${SHARED_DIR}/reference/features-fixtures`;
    const rand = seededRandom(7);
    for (let k = 0; k < 12; k++) {
      const name = `ep_${String(k).padStart(3, "0")}`;
      const expected = JSON.parse(await Deno.readTextFile(`${dir}/${name}.expected.json`));
      const obs = parseEpisodeCsv(await Deno.readTextFile(`${dir}/${name}.csv`));
      // Same-time, same-channel duplicates keep file order: shuffle whole charting times only.
      const byTime = Map.groupBy(obs, (o) => o.hours);
      const stay = new StayTimeSeries();
      for (const time of shuffle([...byTime.keys()], rand)) stay.add(byTime.get(time)!);
      const m = stay.matrix(expected.end);
      assertEquals(m.rows, expected.raw.length);
      let worst = 0;
      expected.raw.forEach((row: number[], r: number) =>
        row.forEach((v, c) => (worst = Math.max(worst, Math.abs(m.data[r * 76 + c]! - v))))
      );
      assert(worst <= 1e-6, `${name}: ${worst}`);
    }
  },
});

Deno.test("add reports the first affected bin and leaves earlier rows untouched", () => {
  const stay = new StayTimeSeries();
  stay.add([{ hours: 0.5, channel: "Heart Rate", value: 80 }, {
    hours: 5.5,
    channel: "Heart Rate",
    value: 90,
  }]);
  const before = stay.matrix(8);
  assertEquals(stay.add([{ hours: 3.2, channel: "Heart Rate", value: 120 }]), 3);
  const after = stay.matrix(8);
  assertEquals(after.data.subarray(0, 3 * 76), before.data.subarray(0, 3 * 76));
  assertEquals([3, 4, 5, 6].map((r) => after.data[r * 76 + 50]), [120, 120, 90, 90]);
  assertEquals(stay.add([]), Number.POSITIVE_INFINITY);
});

Deno.test("a bad observation in a batch leaves the state as it was", () => {
  const stay = new StayTimeSeries();
  stay.add([{ hours: 1, channel: "Heart Rate", value: 80 }]);
  const before = stay.matrix(4);
  const error = assertThrows(
    () =>
      stay.add([
        { hours: 2, channel: "Heart Rate", value: 100 },
        { hours: 2.5, channel: "Glascow coma scale total", value: "sixteen" },
      ]),
    FeatureInputError,
  );
  assertEquals(error.channel, "Glascow coma scale total");
  assertEquals(error.value, "sixteen");
  assertEquals(error.hour, 2.5);
  assertEquals(stay.size, 1);
  assertEquals(stay.matrix(4).data, before.data);
});

Deno.test("matrix for a time before the first observation uses normal values", () => {
  const stay = new StayTimeSeries();
  stay.add([{ hours: 10, channel: "pH", value: 7.1 }]);
  const m = stay.matrix(2.5);
  assertEquals(m.rows, 3);
  const ph = REFERENCE_CONFIG.header.indexOf("pH");
  assertEquals([m.data[ph], m.data[76 + ph], m.data[152 + ph]], [7.4, 7.4, 7.4]);
  assertThrows(() => stay.matrix(Number.NaN), RangeError);
});
