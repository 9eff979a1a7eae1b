/**
 * The synthetic cohort in memory: patients with one or more ICU stays (a readmission within 30
 * days starts the next stay of the same patient), each stay's chest X-rays with their findings,
 * its discharge summary, the hours sampled for decompensation and length of stay, and the
 * patient-level 70/10/20 split. Deterministic for a seed; nothing is written here.
 *
 * @module
 */
import type { Split } from "../tasks.ts";
import { type FindingValue, sampleFindings } from "./cxr_findings.ts";
import { type DischargeSummary, dischargeSummary } from "./notes.ts";
import { createPrng, type Prng } from "./prng.ts";
import {
  hasPhenotype,
  sampleStay,
  sampleSubject,
  type SyntheticStay,
  type SyntheticSubject,
} from "./stay.ts";

/** A chest X-ray of a stay. */
export interface SyntheticImage {
  /** Image id (the JPEG is `cxr/resized/<dicomId>.jpg`). */
  readonly dicomId: string;
  /** Hours since ICU admission (negative: taken before admission, e.g. in the ED). */
  readonly hours: number;
  /** The 14 finding values in `DIAGNOSIS_LABELS` order. */
  readonly findings: readonly FindingValue[];
}

/** A stay with everything the dataset writer needs. */
export interface CohortStay {
  /** The latent stay. */
  readonly stay: SyntheticStay;
  /** The patient's split. */
  readonly split: Split;
  /** Images in time order. */
  readonly images: readonly SyntheticImage[];
  /** The discharge summary, or null when the stay has none. */
  readonly note: DischargeSummary | null;
  /** The hour sampled for the decompensation sample (>= 4). */
  readonly decompensationHour: number;
  /** The hour sampled for the length-of-stay sample (>= 4). */
  readonly lengthOfStayHour: number;
  /** Episode file name inside `ehr/`. */
  readonly episodeFile: string;
}

/** A generated cohort. */
export interface SyntheticCohort {
  /** The seed it was built from. */
  readonly seed: number;
  /** Patients in id order. */
  readonly subjects: readonly SyntheticSubject[];
  /** Stays in id order. */
  readonly stays: readonly CohortStay[];
  /** The root stream (fork it per stay for the physiology and images). */
  readonly prng: Prng;
}

/** Options for {@linkcode buildCohort}. */
export interface CohortOptions {
  /** Number of ICU stays. */
  stays: number;
  /** Seed of the generator. */
  seed: number;
}

/** First subject and stay ids (MIMIC-IV-like 8-digit numbers). */
const FIRST_SUBJECT_ID = 10000001;
const FIRST_STAY_ID = 30000001;

function dicomId(prng: Prng): string {
  return [prng.hex(8), prng.hex(8), prng.hex(8), prng.hex(8), prng.hex(8)].join("-");
}

function sampleImages(stay: SyntheticStay, prng: Prng): SyntheticImage[] {
  const hours: number[] = [];
  const chestProblem = ["pneumonia", "respFailure", "chf", "pleural"].some((k) =>
    hasPhenotype(stay, k as Parameters<typeof hasPhenotype>[1])
  );
  const p = 0.16 + (stay.ventHours > 0 ? 0.1 : 0) + (chestProblem ? 0.08 : 0);
  if (prng.chance(p)) {
    const count = Math.min(4, 1 + prng.poisson(0.1 * stay.losHours / 24));
    // Often an admission film in the first hours, then films spread over the stay.
    const last = Math.max(0.4, stay.losHours - 0.1);
    for (let i = 0; i < count; i++) {
      hours.push(prng.uniform(0.3, i === 0 && prng.chance(0.6) ? Math.min(last, 12) : last));
    }
  }
  if (prng.chance(0.2)) hours.push(-prng.uniform(1, 12));
  hours.sort((a, b) => a - b);
  return hours.map((h) => ({
    dicomId: dicomId(prng),
    hours: Math.round(h * 60) / 60,
    findings: sampleFindings(stay, prng, { hours: h }),
  }));
}

/**
 * Builds the cohort: patients until `stays` ICU stays exist, with images, notes, sampled hours
 * and splits.
 *
 * @example Same seed, same cohort
 * ```ts
 * import { buildCohort } from "./cohort.ts";
 * const a = buildCohort({ stays: 20, seed: 1 }), b = buildCohort({ stays: 20, seed: 1 });
 * if (a.stays.length !== 20 || a.stays[7]!.stay.losHours !== b.stays[7]!.stay.losHours) throw new Error();
 * ```
 */
export function buildCohort(options: CohortOptions): SyntheticCohort {
  const { stays: target, seed } = options;
  if (!Number.isInteger(target) || target < 1) {
    throw new RangeError(`Number of stays must be a positive integer, got ${target}`);
  }
  const root = createPrng(seed);
  const subjects: SyntheticSubject[] = [];
  const stays: SyntheticStay[] = [];
  while (stays.length < target) {
    const subjectPrng = root.fork("subject", subjects.length);
    const subject = sampleSubject(FIRST_SUBJECT_ID + subjects.length, subjectPrng);
    subjects.push(subject);
    let age = subject.age;
    for (let episode = 1; stays.length < target; episode++) {
      const stay = sampleStay(subject, root.fork("stay", stays.length), {
        stayId: FIRST_STAY_ID + stays.length,
        episode,
        age,
      });
      stays.push(stay);
      if (stay.died) break;
      let gapDays: number;
      if (stay.readmitted) gapDays = subjectPrng.uniform(1, 29);
      else if (subjectPrng.chance(0.1)) gapDays = subjectPrng.uniform(40, 700);
      else break;
      age = Math.min(95, Math.round(age + gapDays / 365));
    }
  }
  // Patient-level split, 70/10/20.
  const order = root.fork("split").shuffle(subjects.map((s) => s.subjectId));
  const nTrain = Math.round(order.length * 0.7), nVal = Math.round(order.length * 0.1);
  const splitOf = new Map<number, Split>();
  order.forEach((id, i) =>
    splitOf.set(id, i < nTrain ? "train" : i < nTrain + nVal ? "val" : "test")
  );

  const cohortStays = stays.map((stay): CohortStay => {
    const prng = root.fork("extras", stay.stayId);
    const lastHour = Math.max(4, Math.floor(stay.losHours));
    return {
      stay,
      split: splitOf.get(stay.subject.subjectId)!,
      images: sampleImages(stay, prng.fork("images")),
      note: stay.hasNote ? dischargeSummary(stay, prng.fork("note")) : null,
      decompensationHour: prng.int(4, lastHour),
      lengthOfStayHour: prng.int(4, lastHour),
      episodeFile: `${stay.subject.subjectId}_episode${stay.episode}_timeseries.csv`,
    };
  });
  return { seed, subjects, stays: cohortStays, prng: root };
}
