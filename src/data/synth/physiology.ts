/**
 * Synthetic physiology and charting: turns a stay's latent state into the charted
 * observations of its episode. Vitals are charted about hourly with jitter, temperature and
 * GCS every few hours, glucose and pH a few times a day, FiO2 and capillary refill
 * occasionally, height and weight rarely. Values follow the stay's phenotypes (diabetes raises
 * glucose, shock lowers blood pressure, respiratory failure lowers SpO2 and raises FiO2, renal
 * failure lowers pH, ...) and its course: a failing patient's blood pressure, SpO2 and GCS
 * fall while heart and respiratory rates rise. Every value lies inside MIMIC-Extract's valid
 * range and every categorical value is a listed category of `discretizer.json`.
 *
 * @module
 */
import type { Observation } from "../../features/observation.ts";
import { CHANNEL_RANGES } from "./channel_ranges.ts";
import type { Prng } from "./prng.ts";
import { deterioration, hasPhenotype, type SyntheticStay } from "./stay.ts";
import { gcsScoreText } from "../../features/gcs.ts";

const GCS_INTUBATED = "1.0 ET/Trach";

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** A stay's baseline physiology (what it would be at rest, without the course). */
interface Baseline {
  hr: number;
  hrNoise: number;
  sbp: number;
  dbpRatio: number;
  rr: number;
  spo2: number;
  temp: number;
  fever: number;
  glucose: number;
  glucoseNoise: number;
  ph: number;
  neuro: number;
  fio2: number;
  weight: number;
  height: number;
}

function baseline(stay: SyntheticStay, prng: Prng): Baseline {
  const has = (k: Parameters<typeof hasPhenotype>[1]) => hasPhenotype(stay, k) ? 1 : 0;
  const female = stay.subject.sex === "F";
  return {
    hr: prng.normal(84, 9) + 15 * has("sepsis") + 10 * has("gib") + 8 * has("dysrhythmia") +
      6 * has("pneumonia") - 5 * has("cad"),
    hrNoise: has("dysrhythmia") ? 7 : 3.5,
    sbp: prng.normal(121, 11) + 14 * has("htn") + 20 * has("htnComplicated") - 14 * has("chf") -
      22 * has("shock") - 8 * has("sepsis") - 10 * has("gib") - 6 * has("liver") +
      12 * has("stroke"),
    dbpRatio: prng.uniform(0.47, 0.58),
    rr: prng.normal(18, 2.5) + 4 * has("pneumonia") + 3 * has("copd") + 5 * has("respFailure") +
      3 * has("sepsis") + 2 * has("lowerResp"),
    spo2: prng.normal(97.5, 1) - 2 * has("copd") - 3 * has("respFailure") - 2 * has("pneumonia") -
      1.5 * has("chf") - 1 * has("pleural"),
    temp: prng.normal(36.9, 0.25) + 0.4 * has("pneumonia") - 0.2 * has("shock"),
    fever: 1.3 * has("sepsis") + 0.6 * has("pneumonia"),
    glucose: prng.normal(110, 12) + 50 * has("dm") + 85 * has("dmComplicated") +
      15 * has("sepsis") - 10 * has("liver"),
    glucoseNoise: has("dm") || has("dmComplicated") ? 35 : 14,
    ph: prng.normal(7.41, 0.025) - 0.06 * has("arf") - 0.03 * has("ckd") -
      0.03 * has("sepsis") - 0.04 * has("shock") - 0.02 * has("copd") -
      (stay.reason === "dka" ? 0.15 : 0),
    neuro: clamp(
      (stay.reason === "stroke" ? 0.45 : stay.reason === "overdose" ? 0.5 : 0) +
        (stay.reason === "liver" ? 0.25 : 0) + prng.normal(0, 0.05) + (stay.age > 80 ? 0.1 : 0),
      0,
      0.95,
    ),
    fio2: 0.35 + 0.15 * has("respFailure") + 0.05 * has("pneumonia") + 0.05 * has("copd"),
    weight: clamp(prng.normal(female ? 72 : 86, 17) + 6 * has("chf"), 38, 210),
    height: clamp(prng.normal(female ? 162 : 176, 7), 142, 203),
  };
}

/** An AR(1) series over hours: x[h+1] = rho x[h] + N(0, sd sqrt(1 - rho^2)). */
function ar1(prng: Prng, hours: number, sd: number, rho = 0.85): Float64Array {
  const out = new Float64Array(hours);
  let x = prng.normal(0, sd);
  const step = sd * Math.sqrt(1 - rho * rho);
  for (let h = 0; h < hours; h++) {
    out[h] = x;
    x = rho * x + prng.normal(0, step);
  }
  return out;
}

/** Rounds hours to the minute, as charting times (then to 4 decimals for clean text). */
function chartTime(hours: number): number {
  return round(Math.round(hours * 60) / 60, 4);
}

/** Times from `start` every `every()` hours until `end`. */
function schedule(start: number, end: number, every: () => number): number[] {
  const times: number[] = [];
  for (let t = start; t <= end; t += Math.max(0.25, every())) times.push(t);
  return times;
}

/**
 * Simulates the charted observations of a stay's whole ICU episode (hours in (0, LOS]).
 *
 * @example Every observation of a stay is inside the stay
 * ```ts
 * import { simulateEpisode } from "./physiology.ts";
 * import { sampleStay, sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const prng = createPrng(11);
 * const subject = sampleSubject(1, prng);
 * const stay = sampleStay(subject, prng, { stayId: 1, episode: 1, age: subject.age });
 * const obs = simulateEpisode(stay, prng.fork("episode"));
 * if (obs.length === 0 || obs.some((o) => o.hours <= 0 || o.hours > stay.losHours)) throw new Error();
 * ```
 */
export function simulateEpisode(stay: SyntheticStay, prng: Prng): Observation[] {
  const los = stay.losHours;
  const nHours = Math.ceil(los) + 2;
  const b = baseline(stay, prng);
  const d = new Float64Array(nHours);
  for (let h = 0; h < nHours; h++) d[h] = deterioration(stay.course, h + 0.5);
  const hrN = ar1(prng, nHours, b.hrNoise);
  const bpN = ar1(prng, nHours, 7);
  const rrN = ar1(prng, nHours, 1.8);
  const spN = ar1(prng, nHours, 0.9);
  const tempN = ar1(prng, nHours, 0.25, 0.9);
  const feverN = ar1(prng, nHours, 1, 0.8);
  const gluN = ar1(prng, nHours, b.glucoseNoise, 0.7);
  const phN = ar1(prng, nHours, 0.02, 0.8);
  const obs: Observation[] = [];
  const at = (t: number) => Math.min(nHours - 1, Math.floor(t));
  const push = (t: number, channel: string, value: number | string) => {
    if (typeof value === "number") {
      const range = CHANNEL_RANGES[channel]!;
      value = clamp(value, range.low, range.high);
    }
    obs.push({ hours: t, channel, value });
  };
  const inStay = (t: number) => t > 0 && t <= los;
  const vented = (t: number) => t < stay.ventHours;
  const shock = hasPhenotype(stay, "shock") ? 1 : 0;

  // Vitals: about hourly, with jitter; an extra set every half hour while unstable.
  const offset = prng.uniform(0.05, 0.7);
  const vitalTimes: number[] = [];
  for (let k = 0; k <= nHours; k++) {
    const t = chartTime(k + offset + prng.uniform(-0.15, 0.15));
    if (!inStay(t) || prng.chance(0.04)) continue;
    vitalTimes.push(t);
    const half = chartTime(t + 0.5);
    if (d[at(t)]! > 0.55 && inStay(half)) vitalTimes.push(half);
  }
  for (const t of vitalTimes) {
    const h = at(t), dt = d[h]!;
    const hr = b.hr + 35 * dt + hrN[h]! + prng.normal(0, 2);
    const sbp = clamp(b.sbp - 48 * dt + bpN[h]! + prng.normal(0, 3), 55, 235);
    const dbp = clamp(sbp * b.dbpRatio + prng.normal(0, 3), 25, sbp - 15);
    const mbp = clamp(dbp + (sbp - dbp) / 3 + prng.normal(0, 2), dbp + 2, sbp - 5);
    const rr = vented(t)
      ? prng.normal(16, 2) + 10 * dt
      : b.rr + 12 * dt + rrN[h]! + prng.normal(0, 1.2);
    const spo2 = Math.min(100, b.spo2 - 9 * dt + spN[h]! + prng.normal(0, 0.7));
    if (!prng.chance(0.02)) push(t, "Heart Rate", Math.round(clamp(hr, 30, 210)));
    if (!prng.chance(0.03)) {
      push(t, "Systolic blood pressure", Math.round(sbp));
      push(t, "Diastolic blood pressure", Math.round(dbp));
      push(t, "Mean blood pressure", Math.round(mbp));
    }
    if (!prng.chance(0.05)) push(t, "Respiratory rate", Math.round(clamp(rr, 5, 55)));
    if (!prng.chance(0.04)) push(t, "Oxygen saturation", Math.round(clamp(spo2, 62, 100)));
  }

  // Temperature about every 4 hours; fevers with sepsis and pneumonia.
  for (const t of schedule(prng.uniform(0.1, 2), los, () => prng.normal(4, 0.6))) {
    const h = at(t), ct = chartTime(t);
    const fever = b.fever * Math.max(0, feverN[h]! + 0.5) * (1 - 0.5 * d[h]!);
    const temp = b.temp + tempN[h]! + fever - 0.6 * d[h]! * shock + prng.normal(0, 0.1);
    if (inStay(ct)) push(ct, "Temperature", round(clamp(temp, 33, 41.5), 1));
  }

  // GCS about every 4 hours (every 2 in neurological patients); components and total agree.
  const gcsEvery = b.neuro > 0.3 ? 2 : 4;
  for (const t of schedule(prng.uniform(0.1, 2), los, () => prng.normal(gcsEvery, 0.5))) {
    const ct = chartTime(t);
    if (!inStay(ct)) continue;
    const sedation = vented(t) ? 0.35 : 0;
    const f = clamp(b.neuro + 0.85 * d[at(t)]! + sedation + prng.normal(0, 0.06), 0, 1);
    const eye = clamp(Math.round(4 - 3 * f + prng.normal(0, 0.25)), 1, 4);
    const motor = clamp(Math.round(6 - 5 * f * 0.9 + prng.normal(0, 0.25)), 1, 6);
    const verbal = vented(t) ? 1 : clamp(Math.round(5 - 4 * f + prng.normal(0, 0.25)), 1, 5);
    push(ct, "Glascow coma scale eye opening", gcsScoreText("eye", eye));
    push(ct, "Glascow coma scale motor response", gcsScoreText("motor", motor));
    push(
      ct,
      "Glascow coma scale verbal response",
      vented(t) ? GCS_INTUBATED : gcsScoreText("verbal", verbal),
    );
    push(ct, "Glascow coma scale total", String(eye + motor + verbal));
  }

  // Glucose a few times a day (more often in diabetics).
  const diabetic = hasPhenotype(stay, "dm") || hasPhenotype(stay, "dmComplicated");
  const gluEvery = diabetic ? 4.5 : 7;
  for (const t of schedule(prng.uniform(0.2, 3), los, () => prng.normal(gluEvery, 1.5))) {
    const ct = chartTime(t), h = at(t);
    const glucose = b.glucose * (1 + 0.2 * d[h]!) + gluN[h]!;
    if (inStay(ct)) push(ct, "Glucose", Math.round(clamp(glucose, 45, 900)));
  }

  // pH: arterial blood gases every few hours with an arterial line, otherwise rarely.
  const artLine = stay.ventHours > 0 || stay.severity > 0.8 || prng.chance(0.2);
  const phTimes = artLine
    ? schedule(prng.uniform(0.2, 3), los, () => prng.normal(7, 2))
    : prng.chance(0.4)
    ? [prng.uniform(0.2, Math.min(los, 8))]
    : [];
  for (const t of phTimes) {
    const ct = chartTime(t), h = at(t);
    const ph = b.ph - 0.13 * d[h]! + phN[h]! + prng.normal(0, 0.01);
    if (inStay(ct)) push(ct, "pH", round(clamp(ph, 6.85, 7.65), 2));
  }

  // FiO2 while ventilated (about every 4 hours) and occasionally on supplemental oxygen.
  const onOxygen = prng.chance(0.15 + 0.3 * (hasPhenotype(stay, "respFailure") ? 1 : 0));
  for (const t of schedule(prng.uniform(0.2, 2), los, () => prng.normal(4, 1))) {
    const ct = chartTime(t);
    if (!inStay(ct)) continue;
    if (vented(t)) {
      const fio2 = b.fio2 + 0.45 * d[at(t)]! + prng.normal(0, 0.04);
      push(ct, "Fraction inspired oxygen", round(clamp(Math.round(fio2 * 20) / 20, 0.3, 1), 2));
    } else if (onOxygen && prng.chance(0.35)) {
      const fio2 = 0.24 + 0.3 * d[at(t)]! + prng.normal(0, 0.03);
      push(ct, "Fraction inspired oxygen", round(clamp(fio2, 0.21, 0.6), 2));
    }
  }

  // Capillary refill occasionally, in some stays; prolonged when failing or in shock.
  if (prng.chance(0.35)) {
    for (const t of schedule(prng.uniform(0.5, 4), los, () => prng.normal(8, 2))) {
      const ct = chartTime(t);
      const slow = prng.chance(1 / (1 + Math.exp(3.2 - 5 * d[at(t)]! - 1.5 * shock)));
      if (inStay(ct)) push(ct, "Capillary refill rate", slow ? "1.0" : "0.0");
    }
  }

  // Height once near admission; weight at admission and some mornings.
  if (prng.chance(0.45)) {
    const ct = chartTime(prng.uniform(0.1, Math.min(los, 4)));
    if (inStay(ct)) push(ct, "Height", Math.round(b.height));
  }
  if (prng.chance(0.75)) {
    for (let t = prng.uniform(0.1, Math.min(los, 4)); t <= los; t += 24) {
      const ct = chartTime(t);
      if (inStay(ct) && (t < 5 || prng.chance(0.4))) {
        push(ct, "Weight", round(b.weight + prng.normal(0, 0.8), 1));
      }
    }
  }
  return obs;
}
