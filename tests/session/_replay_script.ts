/**
 * A fixed replay of several stays (admission, hourly vitals with client event ids, an image,
 * a note, a late observation, discharge), every write with an `Idempotency-Key`, so a client
 * that restarts from the top after a crash re-sends safely. Used in-process for the
 * uninterrupted reference run and by `_replay_child.ts` for the SIGKILL test.
 *
 * @module
 */
import type { StayService } from "../../src/session/types.ts";
import { hourOfVitals, NOTE, prng, smallPng } from "./_data.ts";

/** Stays of the replay. */
export const REPLAY_STAYS: readonly string[] = ["r1", "r2", "r3"];

/** Hours of vitals per stay. */
export const REPLAY_HOURS = 36;

/** One write of the replay: its idempotency key and the call. */
export interface ReplayWrite {
  readonly key: string;
  readonly run: (service: StayService) => Promise<unknown>;
}

/** The writes of one stay, in order. */
export function replayWrites(stayId: string, k: number): ReplayWrite[] {
  const rand = prng(100 + k);
  const writes: ReplayWrite[] = [];
  const add = (run: (service: StayService, key: string) => Promise<unknown>) => {
    const key = `${stayId}-w${writes.length}`;
    writes.push({ key, run: (service) => run(service, key) });
  };
  const admittedAt = `2024-01-0${k + 1}T00:00:00.000Z`;
  add((s, key) => s.admit(stayId, { admittedAt, idempotencyKey: key }));
  for (let h = 0; h < REPLAY_HOURS; h++) {
    const batch = hourOfVitals(h, rand, `${stayId}-o`);
    add((s, key) => s.addObservations(stayId, batch, { idempotencyKey: key }));
    if (h === 5) {
      add((s, key) =>
        s.addImage(stayId, smallPng(k + 2), {
          time: 5.9,
          mediaType: "image/png",
          eventId: `${stayId}-img`,
          idempotencyKey: key,
        })
      );
    }
    if (h === 9) {
      add((s, key) => s.addNote(stayId, NOTE, { time: 9.5, idempotencyKey: key }));
    }
    if (h === 12) {
      // Late heart rate at 3.4 h: predictions from hour 4 on are computed again.
      const late = [{ time: 3.4, channel: "Heart Rate", value: 131, eventId: `${stayId}-late` }];
      add((s, key) => s.addObservations(stayId, late, { idempotencyKey: key }));
    }
  }
  const at = new Date(Date.parse(admittedAt) + (REPLAY_HOURS + 0.5) * 3_600_000).toISOString();
  add((s, key) => s.discharge(stayId, { at, idempotencyKey: key }));
  return writes;
}

/**
 * Runs the replay: stays concurrently, each stay's writes in order; `onAck` is called after
 * each write returned (it was committed).
 */
export async function runReplay(
  service: StayService,
  onAck: (key: string) => void,
): Promise<void> {
  await Promise.all(REPLAY_STAYS.map(async (stayId, k) => {
    for (const w of replayWrites(stayId, k)) {
      await w.run(service);
      onAck(w.key);
    }
  }));
}
