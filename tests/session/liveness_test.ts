/**
 * Bounded work and late data: 503 `overloaded` with nothing stored past the queue limit, writes
 * whose client left before their turn dropped unstored, a burst of late writes recomputed once,
 * and a pending recompute that survives a restart and ends equal to an uninterrupted run.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { createStayService } from "../../src/session/service.ts";
import { ServiceError } from "../../src/session/errors.ts";
import type { StayPrediction, StayService } from "../../src/session/types.ts";
import { fakeModel, heldModel } from "./_fake_model.ts";

const hr = (time: number, value = 80, eventId?: string) => ({
  time,
  channel: "Heart Rate",
  value,
  ...(eventId === undefined ? {} : { eventId }),
});

/** The current prediction of every (task, hours): the one with the highest seq. */
async function current(service: StayService, stayId: string): Promise<Map<string, number[]>> {
  const out = new Map<string, StayPrediction>();
  for (const p of await service.predictions(stayId)) {
    const key = `${p.task}@${p.hours}`;
    if ((out.get(key)?.seq ?? -1) < p.seq) out.set(key, p);
  }
  return new Map(
    [...out].sort(([a], [b]) => a.localeCompare(b)).map((
      [k, p],
    ) => [k, p.probability !== undefined ? [p.probability] : [...(p.distribution ?? [])]]),
  );
}

Deno.test("past maxQueuedSteps a write is refused at once with 503 and Retry-After, nothing stored", async () => {
  const model = heldModel(5000);
  const dataDir = await Deno.makeTempDir({ prefix: "flexcare-live-" });
  const service = await createStayService({
    dataDir,
    model,
    sweepIntervalMs: 0,
    maxQueuedSteps: 2,
  });
  try {
    for (const id of ["a", "b", "c"]) await service.admit(id);
    const held = [
      service.addObservations("a", [hr(0.5), hr(1.5)]),
      service.addObservations("b", [hr(0.5), hr(1.5)]),
    ];
    const t = performance.now();
    const refused = await assertRejects(
      () => service.addObservations("c", [hr(0.5), hr(1.5)]),
      ServiceError,
    );
    assert(performance.now() - t < 500, "refused at once, not after the queue");
    assertEquals(refused.status, 503);
    assertEquals(refused.code, "overloaded");
    assert((refused.retryAfter ?? 0) >= 1, "a Retry-After is given");
    assertEquals((await service.get("c")).observations, 0, "nothing stored");
    const stats = service.stats();
    assertEquals(stats.refusedWrites, 1);
    assertEquals(stats.queuedSteps, 2);
    model.release();
    await Promise.all(held);
    // The same write again, once the queue drained, is stored.
    const again = await service.addObservations("c", [hr(0.5), hr(1.5)]);
    assertEquals(again.accepted, 2);
    assertEquals(service.stats().queuedSteps, 0);
  } finally {
    model.release();
    await service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a write whose client left before its turn is dropped unstored; one started stands", async () => {
  const model = heldModel(300);
  const dataDir = await Deno.makeTempDir({ prefix: "flexcare-live-" });
  const service = await createStayService({ dataDir, model, sweepIntervalMs: 0 });
  try {
    await service.admit("s");
    const first = new AbortController();
    const second = new AbortController();
    const started = service.addObservations("s", [hr(0.5, 80, "e1"), hr(1.5, 81, "e2")], {
      signal: first.signal,
    });
    const waiting = service.addObservations("s", [hr(2.5, 82, "e3")], { signal: second.signal });
    await new Promise((r) => setTimeout(r, 50));
    first.abort();
    second.abort();
    const done = await started;
    assertEquals(done.accepted, 2, "the started write completed");
    const gone = await assertRejects(() => waiting, ServiceError);
    assertEquals([gone.status, gone.code], [499, "client_gone"]);
    assertEquals((await service.get("s")).observations, 2);
    assertEquals(service.stats().abandonedWrites, 1);
    // The dropped write, retried with the same event id, is stored once.
    assertEquals((await service.addObservations("s", [hr(2.5, 82, "e3")])).accepted, 1);
  } finally {
    await service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a burst of late writes is recomputed once; each affected hour runs once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "flexcare-live-" });
  const service = await createStayService({
    dataDir,
    model: fakeModel(),
    sweepIntervalMs: 0,
    recomputeDelayMs: 200,
  });
  try {
    await service.admit("s");
    await service.addObservations("s", [0.5, 1.5, 2.5, 3.5, 4.5, 5.5].map((t) => hr(t)));
    const before = service.stats();
    const answers = [];
    for (const t of [1.2, 3.2, 2.2, 1.7]) {
      answers.push(await service.addObservations("s", [hr(t, 95)]));
    }
    for (const a of answers) {
      assertEquals(a.predictions, [], "a late write runs no step on its path");
      assert((a.recomputing ?? []).length > 0, "the answer lists the hours being recomputed");
    }
    assertEquals(answers.at(-1)!.recomputing, [2, 3, 4, 5]);
    await service.idle();
    const after = service.stats();
    assertEquals(after.recomputes! - before.recomputes!, 1, "one recompute for the burst");
    assertEquals(after.stepRuns! - before.stepRuns!, 4, "hours 2..5 once each");
  } finally {
    await service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a recompute pending at shutdown runs after the restart; the end equals an uninterrupted run", async () => {
  const writes = async (service: StayService) => {
    await service.admit("s", { admittedAt: "2024-01-01T00:00:00Z" });
    await service.addObservations("s", [0.5, 1.5, 2.5, 3.5].map((t) => hr(t)));
    // Late: an earlier hour gets a channel it had none of.
    await service.addObservations("s", [{ time: 1.2, channel: "Respiratory rate", value: 30 }]);
  };
  const reference = await Deno.makeTempDir({ prefix: "flexcare-live-ref-" });
  const dataDir = await Deno.makeTempDir({ prefix: "flexcare-live-" });
  try {
    const uninterrupted = await createStayService({
      dataDir: reference,
      model: fakeModel(),
      sweepIntervalMs: 0,
    });
    await writes(uninterrupted);
    await uninterrupted.idle();
    const expected = await current(uninterrupted, "s");
    await uninterrupted.close();

    // A long burst wait: the service closes before the recompute ran.
    const first = await createStayService({
      dataDir,
      model: fakeModel(),
      sweepIntervalMs: 0,
      recomputeDelayMs: 60_000,
    });
    await writes(first);
    const stale = await current(first, "s");
    assert(
      [...stale].some(([k, v]) => String(v) !== String(expected.get(k))),
      "not yet recomputed",
    );
    await first.close();

    const second = await createStayService({ dataDir, model: fakeModel(), sweepIntervalMs: 0 });
    await second.recover();
    await second.idle();
    assertEquals(await current(second, "s"), expected);
    await second.close();
  } finally {
    await Deno.remove(reference, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});
