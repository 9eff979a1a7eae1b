/**
 * NEWS2, the National Early Warning Score 2 (Royal College of Physicians, 2017), from named
 * vital signs, as a classical baseline for decompensation.
 *
 * Parameter bands (score in brackets):
 * - respiratory rate /min: <= 8 (3), 9-11 (1), 12-20 (0), 21-24 (2), >= 25 (3);
 * - SpO2 scale 1, %: <= 91 (3), 92-93 (2), 94-95 (1), >= 96 (0);
 * - air or oxygen: supplemental oxygen (2), air (0); oxygen is FiO2 > 0.21 (a fraction; values
 *   above 1 are read as percent), unless `supplementalOxygen` says so directly;
 * - systolic blood pressure mmHg: <= 90 (3), 91-100 (2), 101-110 (1), 111-219 (0), >= 220 (3);
 * - pulse /min: <= 40 (3), 41-50 (1), 51-90 (0), 91-110 (1), 111-130 (2), >= 131 (3);
 * - consciousness: alert (0), new confusion, voice, pain or unresponsive (3). Here a Glasgow
 *   coma scale below 15 counts as not alert (3), 15 as alert (0). The GCS used is the lower of
 *   the charted total and the sum of the three charted components (eye + motor + verbal, when
 *   all three are known), so an impairment charted either way counts;
 * - temperature degrees C: <= 35.0 (3), 35.1-36.0 (1), 36.1-38.0 (0), 38.1-39.0 (1), >= 39.1 (2).
 *
 * The chart bands are for charted precision, so values are first rounded half up to whole
 * numbers (temperature to 0.1 degrees). A missing value (absent or `NaN`) scores 0 and is listed
 * in `missing`. Scale 2 of SpO2 (hypercapnic respiratory failure) is not used: the data do not say
 * which patients it applies to.
 *
 * @module
 */

/** Named vital signs (any may be missing). */
export interface Vitals {
  /** Breaths per minute. */
  respiratoryRate?: number;
  /** Oxygen saturation, percent. */
  spo2?: number;
  /** Fraction of inspired oxygen (0.21 = room air); values above 1 are read as percent. */
  fio2?: number;
  /** Supplemental oxygen given; when set it takes precedence over `fio2`. */
  supplementalOxygen?: boolean;
  /** Systolic blood pressure, mmHg. */
  systolicBp?: number;
  /** Heart rate, beats per minute. */
  heartRate?: number;
  /** Glasgow coma scale total (3-15). */
  gcsTotal?: number;
  /** Glasgow coma scale eye opening (1-4). */
  gcsEye?: number;
  /** Glasgow coma scale motor response (1-6). */
  gcsMotor?: number;
  /** Glasgow coma scale verbal response (1-5). */
  gcsVerbal?: number;
  /** Temperature, degrees Celsius. */
  temperature?: number;
}

/** The seven NEWS2 parameters. */
export type News2Parameter =
  | "respiratoryRate"
  | "spo2"
  | "oxygen"
  | "systolicBp"
  | "heartRate"
  | "consciousness"
  | "temperature";

/** A NEWS2 total with its parameter scores. */
export interface News2Result {
  /** Sum of the parameter scores (0-20). */
  readonly total: number;
  /** Score of each parameter. */
  readonly components: Readonly<Record<News2Parameter, number>>;
  /** Parameters whose input was missing (scored 0). */
  readonly missing: readonly News2Parameter[];
}

function known(value: number | undefined): value is number {
  return value !== undefined && !Number.isNaN(value);
}

/** Upper limits (inclusive) of each band and the band scores; the last score is open-ended. */
interface Bands {
  readonly upper: readonly number[];
  readonly scores: readonly number[];
  readonly decimals: number;
}

const BANDS = {
  respiratoryRate: { upper: [8, 11, 20, 24], scores: [3, 1, 0, 2, 3], decimals: 0 },
  spo2: { upper: [91, 93, 95], scores: [3, 2, 1, 0], decimals: 0 },
  systolicBp: { upper: [90, 100, 110, 219], scores: [3, 2, 1, 0, 3], decimals: 0 },
  heartRate: { upper: [40, 50, 90, 110, 130], scores: [3, 1, 0, 1, 2, 3], decimals: 0 },
  temperature: { upper: [35, 36, 38, 39], scores: [3, 1, 0, 1, 2], decimals: 1 },
} as const satisfies Record<string, Bands>;

/** Score of a supplemental-oxygen flag. */
const OXYGEN_SCORE = 2;
/** Score of a patient who is not alert. */
const NOT_ALERT_SCORE = 3;
/** Room-air fraction of inspired oxygen. */
const ROOM_AIR_FIO2 = 0.21;
/** A full Glasgow coma scale. */
const GCS_ALERT = 15;

function bandScore(bands: Bands, value: number): number {
  const scale = 10 ** bands.decimals;
  const rounded = Math.floor(value * scale + 0.5 + 1e-9) / scale;
  const i = bands.upper.findIndex((u) => rounded <= u + 1e-9);
  return bands.scores[i === -1 ? bands.scores.length - 1 : i]!;
}

/**
 * The Glasgow coma scale used for consciousness: the lower of the total and the sum of the
 * three components (when all are known); `undefined` when neither is known.
 *
 * @example A charted total of 15 with a confused verbal response (4) gives 14
 * ```ts
 * import { effectiveGcs } from "./news2.ts";
 * if (effectiveGcs({ gcsTotal: 15, gcsEye: 4, gcsMotor: 6, gcsVerbal: 4 }) !== 14) throw new Error();
 * if (effectiveGcs({}) !== undefined) throw new Error();
 * ```
 */
export function effectiveGcs(vitals: Vitals): number | undefined {
  const { gcsEye, gcsMotor, gcsVerbal, gcsTotal } = vitals;
  const sum = known(gcsEye) && known(gcsMotor) && known(gcsVerbal)
    ? gcsEye + gcsMotor + gcsVerbal
    : undefined;
  if (known(gcsTotal) && sum !== undefined) return Math.min(gcsTotal, sum);
  return known(gcsTotal) ? gcsTotal : sum;
}

/**
 * Whether the patient receives supplemental oxygen: `supplementalOxygen` when given, else
 * FiO2 > 0.21 (percent values above 1 are divided by 100); `undefined` when unknown.
 *
 * @example FiO2 as fraction or percent
 * ```ts
 * import { onOxygen } from "./news2.ts";
 * if (onOxygen({ fio2: 0.21 }) !== false || onOxygen({ fio2: 40 }) !== true) throw new Error();
 * ```
 */
export function onOxygen(vitals: Vitals): boolean | undefined {
  if (vitals.supplementalOxygen !== undefined) return vitals.supplementalOxygen;
  if (!known(vitals.fio2)) return undefined;
  const fraction = vitals.fio2 > 1 ? vitals.fio2 / 100 : vitals.fio2;
  return fraction > ROOM_AIR_FIO2 + 1e-12;
}

/**
 * Computes NEWS2 from named vitals.
 *
 * @example Every parameter in its worst band
 * ```ts
 * import { news2 } from "./news2.ts";
 * const r = news2({
 *   respiratoryRate: 30, spo2: 88, fio2: 0.5, systolicBp: 85, heartRate: 140, gcsTotal: 9,
 *   temperature: 34.5,
 * });
 * if (r.total !== 20 || r.missing.length !== 0) throw new Error(String(r.total));
 * if (news2({ heartRate: 95 }).total !== 1) throw new Error();
 * ```
 */
export function news2(vitals: Vitals): News2Result {
  const missing: News2Parameter[] = [];
  const band = (name: keyof typeof BANDS, value: number | undefined): number => {
    if (!known(value)) {
      missing.push(name);
      return 0;
    }
    return bandScore(BANDS[name], value);
  };
  const oxygen = onOxygen(vitals);
  if (oxygen === undefined) missing.push("oxygen");
  const gcs = effectiveGcs(vitals);
  if (gcs === undefined) missing.push("consciousness");
  const components: Record<News2Parameter, number> = {
    respiratoryRate: band("respiratoryRate", vitals.respiratoryRate),
    spo2: band("spo2", vitals.spo2),
    oxygen: oxygen === true ? OXYGEN_SCORE : 0,
    systolicBp: band("systolicBp", vitals.systolicBp),
    heartRate: band("heartRate", vitals.heartRate),
    consciousness: gcs !== undefined && gcs < GCS_ALERT ? NOT_ALERT_SCORE : 0,
    temperature: band("temperature", vitals.temperature),
  };
  const total = Object.values(components).reduce((a, b) => a + b, 0);
  return { total, components, missing };
}
