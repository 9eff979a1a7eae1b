/**
 * The stay service on the real tiny FlexCare model (ONNX graphs exported by the PyTorch
 * package): the whole flow, restart and eviction, concurrency.
 */
import { assert, assertEquals } from "../assert.ts";
import { discretize } from "../../src/features/discretizer.ts";
import { standardize } from "../../src/features/normalizer.ts";
import { news2FromMatrix } from "../../src/eval/news2_matrix.ts";
import { expectedRemainingDays } from "../../src/session/prediction.ts";
import type { ObservationInput, StayPrediction } from "../../src/session/types.ts";
import type { ManagedStayService } from "../../src/session/service.ts";
import {
  comparable,
  hourOfVitals,
  loadModel,
  NOTE,
  openService,
  prng,
  removeDir,
  smallPng,
  TestClock,
} from "./_helpers.ts";

const ADMITTED = "2024-03-01T06:00:00.000Z";

function towerRuns(model: Awaited<ReturnType<typeof loadModel>>): [number, number] {
  return [
    model.graphs.get("image_tower")!.stats.runs,
    model.graphs.get("note_tower")!.stats.runs,
  ];
}

function asObservations(batches: readonly ObservationInput[][]) {
  return batches.flat().map((o) => ({
    hours: o.time as number,
    channel: o.channel,
    value: o.value,
  })).sort((a, b) => a.hours - b.hours);
}

Deno.test({
  name: "whole flow: hourly DEC and LOS, image and note steps, late data, discharge",
  fn: async () => {
    const model = await loadModel();
    const clock = new TestClock();
    const { service, dataDir } = await openService({ model, clock: clock.now });
    try {
      const state = await service.admit("s1", { admittedAt: ADMITTED });
      assertEquals([state.status, state.observations, state.lastPredictionHours], [
        "active",
        0,
        null,
      ]);
      const published: StayPrediction[] = [];
      service.subscribe("s1", (p) => published.push(p));
      const rand = prng(11);
      const batches: ObservationInput[][] = [];
      for (let h = 0; h < 8; h++) {
        const batch = hourOfVitals(h, rand);
        batches.push(batch);
        const r = await service.addObservations("s1", batch);
        assertEquals(r.accepted, 6);
        // Hour h is complete once the batch of hour h (times in (h, h+1)) arrived.
        assertEquals(
          r.predictions.map((p) => [p.task, p.hours]),
          h === 0 ? [] : [
            ["dec", h],
            ["los", h],
          ],
        );
        for (const p of r.predictions) {
          assertEquals(p.modalities, { timeseries: true, image: false, note: false });
          assertEquals(Object.keys(p.fusionWeights), [...model.manifest.combinations]);
          assertEquals([p.backend, p.model.name], ["wasm", model.name]);
          if (p.task === "dec") {
            assert(p.probability! > 0 && p.probability! < 1);
            const raw = discretize(asObservations(batches), h);
            assertEquals(p.news2, news2FromMatrix(raw).total);
          } else {
            assertEquals(p.distribution!.length, 10);
            assert(Math.abs(p.distribution!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
            assertEquals(p.expectedRemainingDays, expectedRemainingDays(p.distribution!));
          }
        }
      }
      // The engine's hour-5 step equals the one graph on the batch discretizer's matrix.
      const hour5 = (await service.predictions("s1")).filter((p) => p.hours === 5);
      const x = standardize(discretize(asObservations(batches), 5), model.normalizer);
      const [dec, los] = await model.predict({ timeseries: x, image: null, note: null }, [
        "dec",
        "los",
      ]);
      assert(Math.abs(hour5[0]!.probability! - dec!.probs[0]!) < 1e-4);
      hour5[1]!.distribution!.forEach((v, i) => assert(Math.abs(v - los!.probs[i]!) < 1e-4));

      // An image at 5.5 h: a step at 5.5 in the answer, and hours 6 and 7 again (it is their
      // latest image) in the recompute after it.
      const [images0, notes0] = towerRuns(model);
      const img = await service.addImage("s1", smallPng(), { time: 5.5, mediaType: "image/png" });
      assertEquals(img.predictions.map((p) => [p.task, p.hours]), [["dec", 5.5], ["los", 5.5]]);
      assertEquals(img.recomputing, [6, 7]);
      await service.idle();
      const recomputed = (await service.predictions("s1", { since: img.predictions[1]!.seq }))
        .map((p) => [p.task, p.hours]);
      assertEquals(recomputed, [["dec", 6], ["los", 6], ["dec", 7], ["los", 7]]);
      assert(img.predictions.every((p) => p.modalities.image && p.modalities.timeseries));
      // A note, default time = the latest observation time.
      const note = await service.addNote("s1", NOTE);
      const lastObs = Math.max(...batches.flat().map((o) => o.time as number));
      assertEquals(note.predictions.map((p) => [p.task, p.hours]), [
        ["dec", lastObs],
        ["los", lastObs],
      ]);
      assertEquals(note.predictions[0]!.modalities, { timeseries: true, image: true, note: true });
      // Each tower ran once, for the new image and the new note.
      assertEquals(towerRuns(model), [images0 + 1, notes0 + 1]);

      // A late heart rate at 2.9 h (the last of its hour): every published time from 2.9 on is
      // computed again, once, after the answer.
      const runs0 = service.stats().stepRuns!;
      const late = await service.addObservations("s1", [
        { time: 2.9, channel: "Heart Rate", value: 160 },
      ]);
      assertEquals(late.predictions, []);
      assertEquals(late.recomputing, [3, 4, 5, 5.5, 6, 7, lastObs]);
      await service.idle();
      assertEquals(service.stats().stepRuns! - runs0, 7);
      const after = await service.predictions("s1", { since: note.predictions[1]!.seq });
      assertEquals(after.filter((p) => p.task === "dec").map((p) => p.hours), [
        3,
        4,
        5,
        5.5,
        6,
        7,
        lastObs,
      ]);
      const history = await service.predictions("s1");
      assertEquals(history.map((p) => p.seq), history.map((_, i) => i + 1));
      assertEquals(published, history);
      // The latest prediction of (dec, 3) reflects the tachycardia.
      const dec3 = history.filter((p) => p.task === "dec" && p.hours === 3);
      assertEquals(dec3.length, 2);
      assert(dec3[1]!.news2! > dec3[0]!.news2!);
      assertEquals(towerRuns(model), [images0 + 1, notes0 + 1]);

      const got = await service.get("s1");
      assertEquals([got.observations, got.images, got.notes, got.lastPredictionHours], [
        49,
        1,
        1,
        lastObs,
      ]);
      const out = await service.discharge("s1", { at: "2024-03-01T15:00:00Z" });
      assertEquals([out.status, out.dischargedAt], ["discharged", "2024-03-01T15:00:00.000Z"]);
    } finally {
      await service.close();
      await removeDir(dataDir);
    }
  },
});

/** Two stays with images, notes and late data; `pause` runs between the two halves. */
async function scenario(
  service: () => ManagedStayService,
  pause: () => Promise<void>,
): Promise<unknown[]> {
  const ids = ["p1", "p2"];
  const rand = prng(21);
  for (const id of ids) await service().admit(id, { admittedAt: ADMITTED });
  for (let h = 0; h < 10; h++) {
    if (h === 5) await pause();
    for (const id of ids) {
      await service().addObservations(id, hourOfVitals(h, rand, id));
      if (h === 3) await service().addImage(id, smallPng(id === "p1" ? 3 : 4), { time: 3.2 });
      if (h === 4) await service().addNote(id, NOTE, { time: 1 });
      if (h === 7) {
        await service().addObservations(id, [{ time: 4.4, channel: "Temperature", value: 39.6 }]);
      }
    }
  }
  await service().idle();
  return await Promise.all(ids.map(async (id) => comparable(await service().predictions(id))));
}

Deno.test({
  name: "a restart and LRU eviction give the same predictions as an uninterrupted run",
  fn: async () => {
    const model = await loadModel();
    const a = await openService({ model });
    let reference: unknown[];
    try {
      reference = await scenario(() => a.service, () => Promise.resolve());
    } finally {
      await a.service.close();
      await removeDir(a.dataDir);
    }
    let b = await openService({ model, maxResidentStays: 1 });
    const dataDir = b.dataDir;
    try {
      const [images0] = towerRuns(model);
      const restarted = await scenario(() => b.service, async () => {
        await b.service.close();
        b = await openService({ model, dataDir, maxResidentStays: 1 });
        const { activeStays, stays, residentStays } = b.service.stats();
        assertEquals({ activeStays, stays, residentStays }, {
          activeStays: 2,
          stays: 2,
          residentStays: 0,
        });
      });
      assertEquals(restarted, reference);
      // With one resident stay of two, every reload re-encodes the image when a step needs it.
      assert(towerRuns(model)[0] > images0 + 2);
      assertEquals(await b.service.recover(), 1);
    } finally {
      await b.service.close();
      await removeDir(dataDir);
    }
  },
});

Deno.test({
  name: "concurrency: many stays at once; concurrent writes to one stay are serialized",
  fn: async () => {
    const model = await loadModel();
    const { service, dataDir } = await openService({ model });
    const solo = await openService({ model });
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
      await Promise.all(ids.map((id) => service.admit(id, { admittedAt: ADMITTED })));
      await Promise.all(ids.map(async (id, k) => {
        const rand = prng(k);
        for (let h = 0; h < 4; h++) {
          await service.addObservations(id, hourOfVitals(h, rand, id));
          if (h === 1) await service.addImage(id, smallPng(k + 1));
        }
      }));
      for (const id of ids) {
        const history = await service.predictions(id);
        // Hours 1-3 and the image step (at the hour-1 batch's time): 4 steps x 2 tasks.
        assertEquals(history.map((p) => p.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
        assertEquals((await service.get(id)).observations, 24);
      }

      // 20 writes to one stay at once (one resends an observation with its event id inside
      // the batch): applied in call order.
      const rand = prng(99);
      const batches = Array.from({ length: 20 }, (_, h) => hourOfVitals(h, rand, "one"));
      batches[7] = [...batches[7]!, { ...batches[7]![0]! }];
      await service.admit("one", { admittedAt: ADMITTED });
      await solo.service.admit("one", { admittedAt: ADMITTED });
      const results = await Promise.all(
        batches.map((b) => service.addObservations("one", b)),
      );
      for (const b of batches) await solo.service.addObservations("one", b);
      assertEquals(results.reduce((n, r) => n + r.accepted, 0), 20 * 6);
      assertEquals(results[7]!.duplicates, 1);
      const concurrent = await service.predictions("one");
      assertEquals(comparable(concurrent), comparable(await solo.service.predictions("one")));
      assertEquals(concurrent.map((p) => p.hours), concurrent.map((_, i) => Math.floor(i / 2) + 1));
      // Each of the 10 stays: its admission, 24 observations and an image.
      assertEquals(service.counts().events, solo.service.counts().events + 10 * 26);
    } finally {
      await service.close();
      await solo.service.close();
      await removeDir(dataDir);
      await removeDir(solo.dataDir);
    }
  },
});
