/**
 * Rebuilding a stay from its log: the features from every observation (in log order, so ties
 * break by arrival as they did live), the images and notes (their model inputs are computed
 * lazily when a step needs them) and the published prediction times. Nothing is predicted or
 * published: the predictions made before are already in the log.
 *
 * @module
 */
import type { DiscretizerConfig } from "../features/discretizer_config.ts";
import type { EventStore, StayRow } from "./store.ts";
import { StayRuntime, type TimedObservation } from "./stay_runtime.ts";
import { noteSection } from "./input.ts";
import type { StayStatics } from "../model/statics.ts";

/**
 * The resident state of a stay, from the log.
 *
 * @example A stay with two observations
 * ```ts
 * import { EventStore } from "./store.ts";
 * import { replayStay } from "./replay.ts";
 * import { REFERENCE_CONFIG } from "../features/discretizer_config.ts";
 * const dir = await Deno.makeTempDir();
 * const store = EventStore.open(dir);
 * const now = "2024-01-01T00:00:00.000Z";
 * store.append("s1", {
 *   create: { admittedAt: now },
 *   events: [
 *     { kind: "obs", hours: 0.5, payload: { hours: 0.5, channel: "Heart Rate", value: 80 } },
 *     { kind: "obs", hours: 1.5, payload: { hours: 1.5, channel: "Heart Rate", value: 90 } },
 *   ],
 *   predictions: [],
 *   now,
 * });
 * const stay = replayStay(store, store.getStay("s1")!, REFERENCE_CONFIG);
 * if (stay.series.size !== 2 || stay.lastObs !== 1.5) throw new Error();
 * store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function replayStay(
  store: EventStore,
  row: StayRow,
  config: DiscretizerConfig,
): StayRuntime {
  const stay = new StayRuntime(row.stayId, Date.parse(row.admittedAt), config);
  const observations: TimedObservation[] = [];
  for (const e of store.events(row.stayId)) {
    const p = e.payload as Record<string, unknown>;
    if (e.kind === "admit" && typeof p.statics === "object" && p.statics !== null) {
      stay.statics = p.statics as StayStatics;
    } else if (e.kind === "obs") {
      observations.push({
        hours: p.hours as number,
        channel: p.channel as string,
        value: p.value as string | number,
      });
    } else if (e.kind === "image") {
      stay.images.push({
        kind: "image",
        hours: p.hours as number,
        eventSeq: e.seq,
        ...(typeof p.mediaType === "string" ? { mediaType: p.mediaType } : {}),
      });
    } else if (e.kind === "note") {
      stay.notes.push({
        kind: "note",
        hours: p.hours as number,
        eventSeq: e.seq,
        text: noteSection(p.text as string),
      });
    }
  }
  stay.restoreObservations(observations);
  stay.markPublished(store.predictionTimes(row.stayId));
  return stay;
}
