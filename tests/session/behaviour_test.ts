/**
 * Stay service behaviour that does not depend on the model's numbers, on the TypeScript
 * stand-in model (runs without PyTorch): duplicates, idempotency, refused input leaving the
 * store unchanged, eviction and reload, retention.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  createStayService,
  type ManagedStayService,
  type SessionLogger,
} from "../../src/session/service.ts";
import { ServiceError } from "../../src/session/errors.ts";
import type { ObservationInput, StayPrediction } from "../../src/session/types.ts";
import { fakeModel } from "./_fake_model.ts";
import { hourOfVitals, NOTE, prng, smallPng } from "./_data.ts";

class Clock {
  ms = Date.parse("2024-03-01T08:00:00.000Z");
  readonly now = (): Date => new Date(this.ms);
}

async function open(
  options: {
    staged?: boolean;
    dataDir?: string;
    clock?: Clock;
    maxResidentStays?: number;
    idleMinutes?: number;
    logger?: SessionLogger;
  } = {},
): Promise<{ service: ManagedStayService; dataDir: string }> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "flexcare-behaviour-" });
  const service = await createStayService({
    dataDir,
    model: fakeModel({ staged: options.staged ?? true }),
    sweepIntervalMs: 0,
    retentionHours: 24,
    ...(options.clock === undefined ? {} : { clock: options.clock.now }),
    ...(options.maxResidentStays === undefined
      ? {}
      : { maxResidentStays: options.maxResidentStays }),
    ...(options.idleMinutes === undefined ? {} : { idleMinutes: options.idleMinutes }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return { service, dataDir };
}

async function withService(
  fn: (service: ManagedStayService, clock: Clock) => Promise<void>,
  options: { maxResidentStays?: number; idleMinutes?: number } = {},
): Promise<void> {
  const clock = new Clock();
  const { service, dataDir } = await open({ ...options, clock });
  try {
    await fn(service, clock);
  } finally {
    await service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

const ADMITTED = "2024-03-01T06:00:00.000Z";

async function admitWithHours(service: ManagedStayService, stayId: string, hours: number) {
  await service.admit(stayId, { admittedAt: ADMITTED });
  const rand = prng(stayId.length * 31 + hours);
  for (let h = 0; h < hours; h++) {
    await service.addObservations(stayId, hourOfVitals(h, rand, stayId));
  }
}

function strip(predictions: readonly StayPrediction[]): unknown[] {
  return predictions.map(({ createdAt: _, ...p }) => p);
}

Deno.test("duplicate deliveries (event ids, Idempotency-Key) are ignored and reported", async () => {
  await withService(async (service) => {
    await admitWithHours(service, "s1", 3);
    const before = service.counts();
    const sentBefore = "s1-1-0"; // an event id of hour 1's vitals (hourOfVitals)
    const batch: ObservationInput[] = [
      { time: 3.5, channel: "Heart Rate", value: 90, eventId: "x1" },
      { time: 3.5, channel: "Heart Rate", value: 90, eventId: "x1" }, // repeated inside the batch
      { time: 3.8, channel: "Heart Rate", value: 93 },
    ];
    const first = await service.addObservations("s1", batch);
    assertEquals([first.accepted, first.duplicates], [2, 1]);
    const again = await service.addObservations("s1", batch);
    assertEquals([again.accepted, again.duplicates, again.predictions.length], [1, 2, 0]);
    assertEquals(service.counts().events, before.events + 3);
    // The same event id for another event: a 409 naming it, and nothing of the request stored.
    const counted = service.counts();
    for (
      const conflicting of [
        [{ time: 3.5, channel: "Heart Rate", value: 91, eventId: "x1" }], // new value
        [{ time: 3.6, channel: "Heart Rate", value: 90, eventId: "x1" }], // new time
        [ // repeated inside one batch with another value
          { time: 3.9, channel: "Heart Rate", value: 80, eventId: "x2" },
          { time: 3.9, channel: "Heart Rate", value: 81, eventId: "x2" },
        ],
        [{ time: 3.7, channel: "Heart Rate", value: 92, eventId: sentBefore }], // sent before
      ] as ObservationInput[][]
    ) {
      const e = await assertRejects(() => service.addObservations("s1", conflicting), ServiceError);
      assertEquals([e.status, e.code], [409, "event_conflict"]);
      assert(e.message.includes(conflicting.at(-1)!.eventId!), e.message);
    }
    assertEquals(service.counts(), counted);

    // Idempotency-Key: the same request again returns the first response and writes nothing.
    const obs = [{ time: 4.5, channel: "Heart Rate", value: 95 }];
    const r1 = await service.addObservations("s1", obs, { idempotencyKey: "k1" });
    assertEquals(r1.predictions.map((p) => [p.task, p.hours]), [["dec", 4], ["los", 4]]);
    const counts = service.counts();
    const r2 = await service.addObservations("s1", obs, { idempotencyKey: "k1" });
    assertEquals(r2, r1);
    assertEquals(service.counts(), counts);
    // The same key with another body or another operation is refused.
    const reuse = await assertRejects(
      () => service.addObservations("s1", [{ ...obs[0]!, value: 96 }], { idempotencyKey: "k1" }),
      ServiceError,
    );
    assertEquals([reuse.status, reuse.code], [422, "idempotency_key_reused"]);
    await assertRejects(() => service.addNote("s1", NOTE, { idempotencyKey: "k1" }), ServiceError);

    // Images and notes with a repeated event id.
    const img = await service.addImage("s1", smallPng(), { eventId: "img-1" });
    assertEquals([img.accepted, img.duplicates], [1, 0]);
    const imgAgain = await service.addImage("s1", smallPng(), { eventId: "img-1" });
    assertEquals([imgAgain.accepted, imgAgain.duplicates, imgAgain.predictions], [0, 1, []]);
    await service.addNote("s1", NOTE, { eventId: "note-1" });
    assertEquals((await service.addNote("s1", NOTE, { eventId: "note-1" })).duplicates, 1);
    const noteConflict = await assertRejects(
      () => service.addNote("s1", `${NOTE} Addendum.`, { eventId: "note-1" }),
      ServiceError,
    );
    assertEquals([noteConflict.status, noteConflict.field], [409, "eventId"]);
    const kindConflict = await assertRejects(
      () => service.addImage("s1", smallPng(), { eventId: "note-1" }),
      ServiceError,
    );
    assertEquals(kindConflict.status, 409);
    // Retried admission and discharge with their key return the first answer.
    const admit = await service.admit("s2", { idempotencyKey: "a" });
    assertEquals(await service.admit("s2", { idempotencyKey: "a" }), admit);
    const discharged = await service.discharge("s2", { idempotencyKey: "d" });
    assertEquals(await service.discharge("s2", { idempotencyKey: "d" }), discharged);
    const state = await service.get("s1");
    assertEquals([state.observations, state.images, state.notes], [18 + 3 + 1, 1, 1]);
  });
});

interface Snapshot {
  counts: unknown;
  states: unknown[];
  predictions: unknown[];
}

async function snapshot(service: ManagedStayService, ids: string[]): Promise<Snapshot> {
  return {
    counts: service.counts(),
    states: await Promise.all(ids.map((id) => service.get(id))),
    predictions: await Promise.all(ids.map((id) => service.predictions(id))),
  };
}

Deno.test("refused input of every kind leaves the stored state unchanged", async () => {
  await withService(async (service) => {
    await admitWithHours(service, "s1", 4);
    await service.addImage("s1", smallPng(), { time: 2 });
    await admitWithHours(service, "gone", 1);
    await service.discharge("gone");
    const ids = ["s1", "gone"];
    const before = await snapshot(service, ids);
    const good = { time: 4.5, channel: "Heart Rate", value: 80 };
    const png = smallPng();
    const cases: [string, () => Promise<unknown>, number, string, string?][] = [
      ["unknown stay", () => service.addObservations("nope", [good]), 404, "stay_not_found"],
      ["unknown stay (get)", () => service.get("nope"), 404, "stay_not_found"],
      ["unknown stay (history)", () => service.predictions("nope"), 404, "stay_not_found"],
      ["bad stay id", () => service.admit("../etc"), 400, "invalid_stay_id", "stayId"],
      ["admit twice", () => service.admit("s1"), 409, "stay_exists", "stayId"],
      ["discharged", () => service.addObservations("gone", [good]), 409, "stay_discharged"],
      ["discharge twice", () => service.discharge("gone"), 409, "stay_discharged"],
      [
        "unknown channel",
        () => service.addObservations("s1", [good, { ...good, channel: "Pulse" }]),
        422,
        "unknown_channel",
        "observations[1].channel",
      ],
      [
        "non-numeric",
        () => service.addObservations("s1", [{ ...good, value: "high" }, good]),
        422,
        "not_a_number",
        "observations[0].value",
      ],
      [
        "not finite",
        () => service.addObservations("s1", [{ ...good, value: "NaN" }]),
        422,
        "not_finite",
        "observations[0].value",
      ],
      [
        "unknown category",
        () =>
          service.addObservations("s1", [{
            ...good,
            channel: "Glascow coma scale total",
            value: 2,
          }]),
        422,
        "unknown_category",
        "observations[0].value",
      ],
      [
        "before admission (hours)",
        () => service.addObservations("s1", [good, { ...good, time: -5 }]),
        422,
        "time_out_of_range",
        "observations[1].time",
      ],
      [
        "before admission (ISO)",
        () => service.addObservations("s1", [{ ...good, time: "2024-03-01T04:00:00Z" }]),
        422,
        "time_out_of_range",
        "observations[0].time",
      ],
      [
        "unparseable time",
        () => service.addObservations("s1", [{ ...good, time: "noon" }]),
        422,
        "invalid_time",
        "observations[0].time",
      ],
      ["empty batch", () => service.addObservations("s1", []), 400, "empty_batch"],
      [
        "not an object",
        () => service.addObservations("s1", [null as unknown as ObservationInput]),
        400,
        "invalid_observation",
        "observations[0]",
      ],
      [
        "bad event id",
        () => service.addObservations("s1", [{ ...good, eventId: 7 as unknown as string }]),
        400,
        "invalid_event_id",
        "observations[0].eventId",
      ],
      [
        "corrupt image",
        () => service.addImage("s1", png.slice(0, png.length - 40)),
        422,
        "image_truncated",
        "image",
      ],
      [
        "not an image",
        () => service.addImage("s1", new TextEncoder().encode("hello")),
        422,
        "image_not_an_image",
        "image",
      ],
      [
        "media type mismatch",
        () => service.addImage("s1", png, { mediaType: "image/jpeg" }),
        415,
        "image_media_type",
        "image",
      ],
      ["empty image", () => service.addImage("s1", new Uint8Array(0)), 400, "invalid_image"],
      [
        "image before admission",
        () => service.addImage("s1", png, { time: -3 }),
        422,
        "time_out_of_range",
        "time",
      ],
      ["empty note", () => service.addNote("s1", "  \n"), 400, "invalid_note", "text"],
      ["note without words", () => service.addNote("s1", "--- !!! ---"), 422, "note_empty"],
      [
        "discharge before admission",
        () => service.discharge("s1", { at: "2024-02-01T00:00:00Z" }),
        422,
        "time_out_of_range",
        "at",
      ],
      [
        "bad admission time",
        () => service.admit("s9", { admittedAt: "01/03/2024" }),
        422,
        "invalid_time",
        "admittedAt",
      ],
      ["bad since", () => service.predictions("s1", { since: -1 }), 400, "invalid_since"],
    ];
    for (const [name, call, status, code, field] of cases) {
      const error = await assertRejects(call, ServiceError);
      assertEquals([error.status, error.code], [status, code], name);
      if (field !== undefined) assertEquals(error.field, field, name);
    }
    assertEquals(await snapshot(service, ids), before);
    await assertRejects(() => service.get("s9"), ServiceError); // the refused admission
    // The stay still works after all that.
    const r = await service.addObservations("s1", [good]);
    assertEquals(r.accepted, 1);
  });
});

Deno.test("LRU eviction and idle sweep: reloaded stays give the same predictions", async () => {
  const ids = ["a", "b", "c"];
  const drive = async (service: ManagedStayService, clock: Clock) => {
    for (const id of ids) await service.admit(id, { admittedAt: ADMITTED });
    const rand = prng(5);
    for (let h = 0; h < 6; h++) {
      for (const id of ids) {
        await service.addObservations(id, hourOfVitals(h, rand, id));
        if (h === 2) await service.addImage(id, smallPng(id.length + h), { time: 2.5 });
        if (h === 3) await service.addNote(id, NOTE);
      }
      clock.ms += 120_000;
      await service.sweep();
    }
    // Late data after reloads.
    for (const id of ids) {
      await service.addObservations(id, [{ time: 1.2, channel: "pH", value: 7.1 }]);
    }
    await service.idle();
    return await Promise.all(ids.map(async (id) => strip(await service.predictions(id))));
  };
  let unbounded: unknown[] = [];
  await withService(async (service, clock) => {
    unbounded = await drive(service, clock);
    assertEquals(service.stats().residentStays, 3);
  });
  await withService(async (service, clock) => {
    const evicting = await drive(service, clock);
    assert(service.stats().residentStays <= 1);
    assertEquals(evicting, unbounded);
  }, { maxResidentStays: 1 });
  await withService(async (service, clock) => {
    const idle = await drive(service, clock);
    assertEquals(idle, unbounded);
  }, { idleMinutes: 1 });
});

Deno.test("retention: discharged stays are deleted after retentionHours, others stay", async () => {
  await withService(async (service, clock) => {
    await admitWithHours(service, "keep", 3);
    await admitWithHours(service, "done", 3);
    await service.addNote("done", NOTE);
    await service.discharge("done");
    const { activeStays, stays, residentStays } = service.stats();
    assertEquals({ activeStays, stays, residentStays }, {
      activeStays: 1,
      stays: 2,
      residentStays: 1,
    });
    clock.ms += 23 * 3_600_000;
    assertEquals((await service.sweep()).deleted, 0);
    assertEquals((await service.get("done")).status, "discharged");
    clock.ms += 2 * 3_600_000;
    const keepBefore = await service.predictions("keep");
    assertEquals((await service.sweep()).deleted, 1);
    const e = await assertRejects(() => service.get("done"), ServiceError);
    assertEquals(e.status, 404);
    assertEquals(await service.predictions("keep"), keepBefore);
    const counts = service.counts();
    // Only "keep" is left: its admit event and 3 hours x 6 observations; its predictions.
    assertEquals(counts, { stays: 1, events: 19, predictions: keepBefore.length, idempotency: 0 });
    // The id can be used again.
    await service.admit("done");
    assertEquals((await service.get("done")).observations, 0);
  });
});

Deno.test("subscribers get each new prediction once, in order; closed service refuses calls", async () => {
  const clock = new Clock();
  const lines: string[] = [];
  const logger: SessionLogger = {
    debug: () => {},
    info: (m, d) => lines.push(`info ${m} ${JSON.stringify(d ?? {})}`),
    warn: (m, d) => lines.push(`warn ${m} ${JSON.stringify(d ?? {})}`),
    error: (m, d) => lines.push(`error ${m} ${JSON.stringify(d ?? {})}`),
  };
  const { service, dataDir } = await open({ clock, logger });
  try {
    await service.admit("s1", { admittedAt: ADMITTED });
    const seen: number[] = [];
    const stop = service.subscribe("s1", (p) => seen.push(p.seq));
    service.subscribe("s1", () => {
      throw new Error("a broken listener does not break the write");
    });
    const rand = prng(3);
    for (let h = 0; h < 4; h++) await service.addObservations("s1", hourOfVitals(h, rand));
    stop();
    await service.addObservations("s1", hourOfVitals(4, rand));
    assertEquals(seen, [1, 2, 3, 4, 5, 6]);
    assertEquals((await service.predictions("s1", { since: 4 })).map((p) => p.seq), [5, 6, 7, 8]);
    assertEquals(lines.filter((l) => l.startsWith("warn")).length, 8);
    // Nothing above debug names the stay.
    assert(lines.every((l) => !l.includes("s1")), lines.join("\n"));
  } finally {
    await service.close();
  }
  const e = await assertRejects(() => service.get("s1"), ServiceError);
  assertEquals(e.status, 503);
  // Reopened: history is there.
  const again = await open({ dataDir, clock });
  try {
    assertEquals((await again.service.predictions("s1")).length, 8);
  } finally {
    await again.service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a reference-mode model (no staged graphs) is served through the one graph", async () => {
  const run = async (staged: boolean) => {
    const clock = new Clock();
    let { service, dataDir } = await open({ staged, clock });
    try {
      await admitWithHours(service, "s1", 3);
      await service.addImage("s1", smallPng(), { time: 1.5 });
      await service.addNote("s1", NOTE, { time: 0.5 });
      await service.close();
      ({ service } = await open({ staged, clock, dataDir })); // reload: inputs re-encoded lazily
      const r = await service.addObservations("s1", hourOfVitals(3, prng(8)));
      assertEquals(r.predictions[0]!.modalities, { timeseries: true, image: true, note: true });
      return strip(await service.predictions("s1"));
    } finally {
      await service.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  };
  assertEquals(await run(false), await run(true));
});

Deno.test("a model failure during a write stores nothing; the retried write equals a clean run", async () => {
  const base = fakeModel();
  let failing = false;
  const model = {
    ...base,
    step: (inputs: Parameters<typeof base.step>[0], keys: Parameters<typeof base.step>[1]) =>
      failing ? Promise.reject(new Error("inference failed")) : base.step(inputs, keys),
  };
  const dataDir = await Deno.makeTempDir({ prefix: "flexcare-behaviour-" });
  const service = await createStayService({ dataDir, model, sweepIntervalMs: 0 });
  const clock = new Clock();
  const clean = await open({ clock });
  try {
    const rand = prng(4);
    const batches = Array.from({ length: 5 }, (_, h) => hourOfVitals(h, rand, "f"));
    for (const s of [service, clean.service]) await s.admit("s1", { admittedAt: ADMITTED });
    for (const b of batches.slice(0, 3)) await service.addObservations("s1", b);
    const before = { counts: service.counts(), state: await service.get("s1") };
    failing = true;
    await assertRejects(() => service.addObservations("s1", batches[3]!), Error, "inference");
    await assertRejects(() => service.addNote("s1", NOTE), Error, "inference");
    assertEquals({ counts: service.counts(), state: await service.get("s1") }, before);
    failing = false;
    for (const b of batches.slice(3)) await service.addObservations("s1", b);
    for (const b of batches) await clean.service.addObservations("s1", b);
    assertEquals(
      strip(await service.predictions("s1")),
      strip(await clean.service.predictions("s1")),
    );
  } finally {
    await service.close();
    await clean.service.close();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(clean.dataDir, { recursive: true });
  }
});
