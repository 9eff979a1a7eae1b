/**
 * Deterministic test data for the session tests (no model, no python): vitals, a PNG, a note.
 *
 * @module
 */
import { encode } from "fast-png";
import type { ObservationInput } from "../../src/session/types.ts";

/** Deterministic pseudo-random numbers in [0, 1). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Vitals of one hour (several channels, a categorical one among them) at `hour + offset`. */
export function hourOfVitals(
  hour: number,
  rand: () => number,
  idPrefix?: string,
): ObservationInput[] {
  const t = hour + 0.25 + rand() * 0.5;
  const values: [string, string | number][] = [
    ["Heart Rate", Math.round(70 + rand() * 60)],
    ["Respiratory rate", Math.round(12 + rand() * 16)],
    ["Systolic blood pressure", Math.round(85 + rand() * 60)],
    ["Oxygen saturation", Math.round(88 + rand() * 12)],
    ["Temperature", Math.round((36 + rand() * 3) * 10) / 10],
    ["Glascow coma scale total", String(10 + Math.floor(rand() * 6))],
  ];
  return values.map(([channel, value], i) => ({
    time: Math.round(t * 1000) / 1000,
    channel,
    value,
    ...(idPrefix === undefined ? {} : { eventId: `${idPrefix}-${hour}-${i}` }),
  }));
}

/** A 96x80 grey-gradient PNG. */
export function smallPng(seed = 1): Uint8Array {
  const width = 96;
  const height = 80;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * seed + (i >> 5)) & 0xff;
  return encode({ width, height, channels: 1, depth: 8, data });
}

/** A discharge-summary-like note. */
export const NOTE =
  "Chief Complaint: dyspnea\nPast Medical History:\n- CHF (EF 30%)\n- COPD on home oxygen\n" +
  "Social History: former smoker\n";
