import { assert, assertEquals, assertThrows } from "../assert.ts";
import { KeyedMutex } from "../../src/session/mutex.ts";
import { completedHours, StayRuntime } from "../../src/session/stay_runtime.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";
import { discretize } from "../../src/features/discretizer.ts";
import { hoursSinceAdmission } from "../../src/session/time.ts";
import { ServiceError } from "../../src/session/errors.ts";
import { expectedRemainingDays, LOS_CLASS_MIDPOINT_DAYS } from "../../src/session/prediction.ts";
import { EventStore } from "../../src/session/store.ts";
import { hourOfVitals, prng } from "./_data.ts";

Deno.test("KeyedMutex serializes one key, interleaves different keys, survives failures", async () => {
  const mutex = new KeyedMutex();
  const log: string[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const tasks = [
    mutex.run("a", async () => {
      log.push("a1+");
      await sleep(20);
      log.push("a1-");
    }),
    mutex.run("a", () => Promise.reject(new Error("boom"))).catch(() => log.push("a2!")),
    mutex.run("a", () => {
      log.push("a3");
      return Promise.resolve();
    }),
    mutex.run("b", async () => {
      log.push("b1+");
      await sleep(1);
      log.push("b1-");
    }),
  ];
  assert(mutex.locked("a") && mutex.locked("b"));
  await Promise.all(tasks);
  assertEquals(log.filter((x) => x.startsWith("a")), ["a1+", "a1-", "a2!", "a3"]);
  // b ran while a1 was sleeping.
  assert(log.indexOf("b1-") < log.indexOf("a1-"), log.join());
  assertEquals([mutex.locked("a"), mutex.size], [false, 0]);
});

Deno.test("completedHours: hour h is complete once an observation later than h arrived", () => {
  assertEquals(completedHours(Number.NEGATIVE_INFINITY), 0);
  assertEquals(completedHours(0.5), 0);
  assertEquals(completedHours(1), 0); // more data at exactly 1 h may still come
  assertEquals(completedHours(1.0001), 1);
  assertEquals(completedHours(3), 2);
  assertEquals(completedHours(3.2), 3);
  assertEquals(completedHours(-0.5), 0);
});

function obs(hours: number, value: number, channel = "Heart Rate") {
  return { hours, channel, value };
}

Deno.test("StayRuntime plans hourly steps, late recomputes and the catch-up limit", () => {
  const stay = new StayRuntime("s", 0, REFERENCE_CONFIG);
  const none = { now: [], late: [] };
  assertEquals(stay.addObservations([obs(0.5, 80)], 48), none);
  assertEquals(stay.addObservations([obs(1.5, 81)], 48), { now: [1], late: [] });
  stay.markPublished([1]);
  assertEquals(stay.addObservations([obs(4.2, 82)], 48), { now: [2, 3, 4], late: [] });
  stay.markPublished([2, 3, 4]);
  // Same hour: nothing new completes.
  assertEquals(stay.addObservations([obs(4.9, 83)], 48), none);
  // Late: 2.5 h changes the published predictions at 3 and 4 (not 1 or 2), for the recompute.
  assertEquals(stay.addObservations([obs(2.5, 90)], 48), { now: [], late: [3, 4] });
  assertEquals(stay.markPending([3, 4], [], 48), [3, 4]);
  // Late at exactly 2 h: the prediction at hour 2 reads it; pending hours merge.
  assertEquals(stay.addObservations([obs(2, 91)], 48), { now: [], late: [2, 3, 4] });
  assertEquals(stay.markPending([2, 3, 4], [], 48), [2, 3, 4]);
  assertEquals(stay.takePending(), [2, 3, 4]);
  assertEquals(stay.pendingTimes(), []);
  // A long gap: only the latest 3 steps run.
  assertEquals(stay.addObservations([obs(20.5, 84)], 3), { now: [18, 19, 20], late: [] });
  // A late value inside a long gap: only hours in the window of the latest 3 are recomputed.
  stay.markPublished([18, 19, 20]);
  assertEquals(stay.addObservations([obs(10, 70)], 3), { now: [], late: [18, 19, 20] });
  // Pending hours older than the window are dropped.
  assertEquals(stay.markPending([5, 18, 19, 20], [], 3), [18, 19, 20]);
});

Deno.test("StayRuntime: hours without data are skipped, and filled in when late data gives them some", () => {
  const stay = new StayRuntime("s", 0, REFERENCE_CONFIG);
  // First observation at 3.5 h: hours 1-2 have no data, hour 3 neither (3.5 > 3).
  assertEquals(stay.addObservations([obs(3.5, 80)], 48), { now: [], late: [] });
  assertEquals(stay.addObservations([obs(5.5, 80)], 48), { now: [4, 5], late: [] });
  stay.markPublished([4, 5]);
  // A late value at 1.2 h: hours 2 and 3 now have data (and 4 and 5 change).
  assertEquals(stay.addObservations([obs(1.2, 70)], 48), { now: [], late: [2, 3, 4, 5] });
  stay.markPublished([2, 3]);
  const image = { kind: "image" as const, hours: 4.5, eventSeq: 10 };
  assertEquals(stay.addAttachment(image, 48), { now: [4.5], late: [5] });
  stay.markPublished([4.5]);
  // An older image: its own step, and hours 2-4, where it is now the latest image.
  assertEquals(stay.addAttachment({ kind: "image", hours: 2, eventSeq: 11 }, 48), {
    now: [2],
    late: [3, 4],
  });
  // A same-time later image replaces the one at 4.5.
  assertEquals(stay.addAttachment({ kind: "image", hours: 4.5, eventSeq: 12 }, 48), {
    now: [4.5],
    late: [5],
  });
  // A note before admission gives a step at hour 0 and changes every later time.
  assertEquals(stay.addAttachment({ kind: "note", hours: -0.5, eventSeq: 13 }, 48), {
    now: [0],
    late: [1, 2, 3, 4, 4.5, 5],
  });
});

Deno.test("StayRuntime: incremental adds and a replay give the same matrix", () => {
  const rand = prng(7);
  const batches = Array.from({ length: 10 }, (_, h) =>
    hourOfVitals(h, rand).map((o) => ({
      hours: o.time as number,
      channel: o.channel,
      value: o.value,
    })));
  batches.push([obs(2.2, 150), obs(7.7, 40)]); // late ones
  const live = new StayRuntime("s", 0, REFERENCE_CONFIG);
  for (const b of batches) live.addObservations(b, 48);
  const replayed = new StayRuntime("s", 0, REFERENCE_CONFIG);
  replayed.restoreObservations(batches.flat());
  for (const end of [1, 2.5, 7, 9.99, 10]) {
    const a = live.series.matrix(end);
    const b = replayed.series.matrix(end);
    const c = discretize([...batches.flat()].sort((x, y) => x.hours - y.hours), end);
    assertEquals([a.rows, Array.from(a.data)], [b.rows, Array.from(b.data)]);
    assertEquals([a.rows, Array.from(a.data)], [c.rows, Array.from(c.data)]);
  }
  assertEquals([live.firstObs, live.lastObs], [replayed.firstObs, replayed.lastObs]);
});

Deno.test("hoursSinceAdmission accepts hours and zoned ISO times, refuses the rest with 422", () => {
  const admitted = Date.UTC(2024, 0, 1, 6);
  assertEquals(hoursSinceAdmission("2024-01-01T08:30:00+01:00", admitted, "t"), 1.5);
  assertEquals(hoursSinceAdmission("2024-01-01T05:00:00Z", admitted, "t"), -1);
  for (const bad of ["2024-01-01T08:30:00", "yesterday", "3.5", Number.NaN, Infinity, null, {}]) {
    const e = assertThrows(() => hoursSinceAdmission(bad, admitted, "obs[0].time"), ServiceError);
    assertEquals([e.status, e.code, e.field], [422, "invalid_time", "obs[0].time"]);
  }
});

Deno.test("expected remaining days uses the documented class mid-points", () => {
  const uniform = new Array(10).fill(0.1);
  const mean = LOS_CLASS_MIDPOINT_DAYS.reduce((a, b) => a + b, 0) / 10;
  assert(Math.abs(expectedRemainingDays(uniform) - mean) < 1e-12);
  assertEquals(expectedRemainingDays([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0.5);
  assertEquals(expectedRemainingDays([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 21);
  assertThrows(() => expectedRemainingDays([1]), RangeError);
});

Deno.test("EventStore: one folder, one process at a time; a failed batch leaves no rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flexcare-store-" });
  const store = EventStore.open(dir);
  try {
    const now = "2024-01-01T00:00:00.000Z";
    store.append("s1", {
      create: { admittedAt: now },
      events: [{ kind: "admit", hours: null, payload: {} }],
      predictions: [],
      now,
    });
    // Duplicate event id inside one batch: the unique index refuses it and the batch rolls back.
    assertThrows(() =>
      store.append("s1", {
        events: [
          { kind: "obs", hours: 1, payload: {}, eventId: "e1" },
          { kind: "obs", hours: 2, payload: {}, eventId: "e1" },
        ],
        predictions: [],
        now,
      })
    );
    assertEquals(store.counts(), { stays: 1, events: 1, predictions: 0, idempotency: 0 });
    assertEquals(store.getStay("s1")?.lastEventSeq, 1);
    const error = assertThrows(() => EventStore.open(dir));
    assert(/in use by another process/.test(error.message), error.message);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
