/**
 * FHIR R4 `Observation` (or a `Bundle` of them) -> observations of the discretizer's channels.
 *
 * Pure and synchronous. Codes are LOINC (`http://loinc.org`; a coding without a system is read
 * as LOINC too); quantities are converted from their UCUM unit (`valueQuantity.code`, else
 * `valueQuantity.unit`) to the unit of the channel; Glasgow coma scale components and capillary
 * refill are mapped to the categories of `reference/discretizer.json`. Each accepted
 * observation's time is its `effectiveDateTime` (or `effectiveInstant`, `effectivePeriod.start`)
 * as an ISO 8601 UTC timestamp. Observations with status `entered-in-error` or `cancelled` are
 * skipped and counted. Anything else that cannot be mapped is refused with a
 * {@linkcode FhirInputError} naming the offending field (`entry[2].resource.code`).
 *
 * @module
 */
import { GCS_SCORE_TEXT } from "./gcs.ts";

/** An observation ready for the stay service: channel name, value, ISO time, event id. */
export interface FhirObservation {
  readonly time: string;
  readonly channel: string;
  readonly value: string | number;
  readonly eventId?: string;
}

/** The result of {@linkcode fhirToObservations}. */
export interface FhirMapping {
  readonly observations: FhirObservation[];
  /** Observations skipped because of their status (`entered-in-error`, `cancelled`). */
  readonly skipped: number;
}

/** Raised when a FHIR resource cannot be mapped; `field` is the path of the offending field. */
export class FhirInputError extends Error {
  /** Path of the offending field, e.g. `entry[2].resource.valueQuantity.code`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = "FhirInputError";
    this.field = field;
  }
}

type Unit = Readonly<Record<string, (v: number) => number>>;
const same = (v: number) => v;
const PER_MIN: Unit = { "/min": same, "{beats}/min": same, "{breaths}/min": same, "1/min": same };
const MMHG: Unit = { "mm[Hg]": same, "mmHg": same };
const PERCENT: Unit = { "%": same };

type Kind =
  | { readonly type: "quantity"; readonly units: Unit; readonly unitless?: boolean }
  | { readonly type: "gcs"; readonly scale: readonly string[] | null }
  | { readonly type: "capillary" };

interface Code {
  readonly channel: string;
  readonly kind: Kind;
}

const q = (units: Unit, unitless = false): Kind => ({ type: "quantity", units, unitless });

/** The LOINC codes this mapping understands. */
export const LOINC_CHANNELS: Readonly<Record<string, Code>> = Object.freeze({
  "8867-4": { channel: "Heart Rate", kind: q(PER_MIN) },
  "8480-6": { channel: "Systolic blood pressure", kind: q(MMHG) },
  "8462-4": { channel: "Diastolic blood pressure", kind: q(MMHG) },
  "8478-0": { channel: "Mean blood pressure", kind: q(MMHG) },
  "9279-1": { channel: "Respiratory rate", kind: q(PER_MIN) },
  "2708-6": { channel: "Oxygen saturation", kind: q(PERCENT) },
  "59408-5": { channel: "Oxygen saturation", kind: q(PERCENT) },
  "8310-5": {
    channel: "Temperature",
    kind: q({ "Cel": same, "[degF]": (f) => (f - 32) * 5 / 9, "K": (k) => k - 273.15 }),
  },
  "29463-7": {
    channel: "Weight",
    kind: q({ "kg": same, "[lb_av]": (lb) => lb * 0.45359237, "g": (g) => g / 1000 }),
  },
  "8302-2": {
    channel: "Height",
    kind: q({ "cm": same, "[in_i]": (i) => i * 2.54, "m": (m) => m * 100 }),
  },
  "2345-7": {
    channel: "Glucose",
    kind: q({ "mg/dL": same, "mmol/L": (mmol) => mmol * 18.016 }),
  },
  "2339-0": {
    channel: "Glucose",
    kind: q({ "mg/dL": same, "mmol/L": (mmol) => mmol * 18.016 }),
  },
  "2744-1": { channel: "pH", kind: q({ "[pH]": same, "1": same }, true) },
  "3150-0": {
    channel: "Fraction inspired oxygen",
    kind: q({ "%": (p) => p / 100, "1": same, "{ratio}": same }, true),
  },
  "9269-2": { channel: "Glascow coma scale total", kind: { type: "gcs", scale: null } },
  "9267-6": {
    channel: "Glascow coma scale eye opening",
    kind: { type: "gcs", scale: GCS_SCORE_TEXT.eye },
  },
  "9270-0": {
    channel: "Glascow coma scale verbal response",
    kind: { type: "gcs", scale: GCS_SCORE_TEXT.verbal },
  },
  "9268-4": {
    channel: "Glascow coma scale motor response",
    kind: { type: "gcs", scale: GCS_SCORE_TEXT.motor },
  },
  "44963-7": { channel: "Capillary refill rate", kind: { type: "capillary" } },
});

/** Panel codes whose values are in `component` (blood pressure and vital-sign panels). */
export const LOINC_PANELS: readonly string[] = Object.freeze([
  "85354-9",
  "55284-4",
  "35094-2",
  "85353-1",
]);

/** LOINC answer codes of the Glasgow coma scale components -> score. */
const GCS_ANSWERS: Readonly<Record<string, number>> = {
  "LA6553-7": 1,
  "LA6554-5": 2,
  "LA6555-2": 3,
  "LA6556-0": 4,
  "LA6557-8": 1,
  "LA6558-6": 2,
  "LA6559-4": 3,
  "LA6560-2": 4,
  "LA6561-0": 5,
  "LA6562-8": 1,
  "LA6563-6": 2,
  "LA6564-4": 3,
  "LA6565-1": 4,
  "LA6566-9": 5,
  "LA6567-7": 6,
};

/** Keywords of component texts -> score, checked in order (first match wins). */
const GCS_WORDS: Readonly<Record<string, readonly [RegExp, number | string][]>> = {
  "Glascow coma scale eye opening": [
    [/spontan/, 4],
    [/speech|sound|verbal|voice/, 3],
    [/pain|pressure/, 2],
    [/\bno\b|none/, 1],
  ],
  "Glascow coma scale verbal response": [
    [/\bett\b|trach|intubat/, "1.0 ET/Trach"],
    [/orient/, 5],
    [/confus/, 4],
    [/inappr/, 3],
    [/incomp|sounds/, 2],
    [/\bno\b|none/, 1],
  ],
  "Glascow coma scale motor response": [
    [/obey/, 6],
    [/locali/, 5],
    [/withdraw/, 4],
    [/flexion|decorticate/, 3],
    [/extens|decerebrate/, 2],
    [/\bno\b|none/, 1],
  ],
};

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(field: string, message: string): never {
  // A lone Observation has the empty path: its fields are named without a leading dot.
  throw new FhirInputError(field.replace(/^\./, ""), message.replace(/^\./, ""));
}

function loincCodes(concept: unknown, field: string): string[] {
  if (!isObject(concept) || !Array.isArray(concept.coding) || concept.coding.length === 0) {
    return fail(field, `${field} must be a CodeableConcept with at least one coding`);
  }
  const codes: string[] = [];
  for (const coding of concept.coding) {
    if (!isObject(coding) || typeof coding.code !== "string") continue;
    if (coding.system === undefined || coding.system === "http://loinc.org") {
      codes.push(coding.code);
    }
  }
  return codes;
}

function timeOf(resource: Record<string, unknown>, path: string): string {
  let field = `${path}.effectiveDateTime`;
  let text: unknown = resource.effectiveDateTime;
  if (text === undefined && resource.effectiveInstant !== undefined) {
    field = `${path}.effectiveInstant`;
    text = resource.effectiveInstant;
  }
  if (text === undefined && isObject(resource.effectivePeriod)) {
    field = `${path}.effectivePeriod.start`;
    text = resource.effectivePeriod.start;
  }
  if (text === undefined) {
    return fail(field, `${field} is missing: an observation needs the time it was taken`);
  }
  if (typeof text !== "string" || !DATE_TIME.test(text) || !Number.isFinite(Date.parse(text))) {
    return fail(
      field,
      `${field} must be a date-time with hours, minutes and a time zone (e.g. 2024-05-01T08:00:00Z)`,
    );
  }
  return new Date(text).toISOString();
}

function quantityValue(
  holder: Record<string, unknown>,
  path: string,
  code: string,
  kind: Kind & { type: "quantity" },
): number {
  const vq = holder.valueQuantity;
  const field = `${path}.valueQuantity`;
  if (!isObject(vq)) {
    return fail(field, `${field} is missing: LOINC ${code} needs a quantity`);
  }
  if (typeof vq.value !== "number" || !Number.isFinite(vq.value)) {
    return fail(`${field}.value`, `${field}.value must be a finite number`);
  }
  const unitField = vq.code !== undefined ? `${field}.code` : `${field}.unit`;
  const unit = vq.code ?? vq.unit;
  if (unit === undefined && kind.unitless === true) return vq.value;
  if (typeof unit !== "string" || !Object.hasOwn(kind.units, unit)) {
    return fail(
      unitField,
      `${unitField} ${JSON.stringify(unit)} is not a unit of LOINC ${code}: expected one of ${
        Object.keys(kind.units).join(", ")
      }`,
    );
  }
  return kind.units[unit]!(vq.value);
}

function textOf(holder: Record<string, unknown>): { text: string; answer?: string } | null {
  if (typeof holder.valueString === "string") return { text: holder.valueString };
  const cc = holder.valueCodeableConcept;
  if (!isObject(cc)) return null;
  const codings = Array.isArray(cc.coding) ? cc.coding.filter(isObject) : [];
  const answer = codings.map((c) => c.code).find((c) => typeof c === "string" && c in GCS_ANSWERS);
  const display = codings.map((c) => c.display).find((d) => typeof d === "string");
  const text = typeof cc.text === "string" ? cc.text : typeof display === "string" ? display : "";
  return answer === undefined ? { text } : { text, answer: answer as string };
}

/**
 * The text value of an Observation (or component) with the field it came from; refuses one that
 * has no quantity, coded or string value.
 */
function requiredText(
  holder: Record<string, unknown>,
  path: string,
): { text: { text: string; answer?: string }; field: string } {
  const text = textOf(holder);
  if (text === null) {
    return fail(
      `${path}.value[x]`,
      `${path || "Observation"} has no valueQuantity, valueCodeableConcept or valueString`,
    );
  }
  const field = `${path}.${
    holder.valueString !== undefined ? "valueString" : "valueCodeableConcept"
  }`;
  return { text, field };
}

function gcsValue(
  holder: Record<string, unknown>,
  path: string,
  code: Code & { kind: { type: "gcs" } },
): string | number {
  const scale = code.kind.scale;
  const vq = holder.valueQuantity;
  if (isObject(vq)) {
    const v = vq.value;
    const max = scale === null ? 15 : scale.length;
    const min = scale === null ? 3 : 1;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      return fail(
        `${path}.valueQuantity.value`,
        `${path}.valueQuantity.value must be an integer score ${min}-${max} for ${code.channel}`,
      );
    }
    return scale === null ? String(v) : scale[v - 1]!;
  }
  if (typeof holder.valueInteger === "number") {
    return gcsValue({ valueQuantity: { value: holder.valueInteger } }, path, code);
  }
  const { text: t, field } = requiredText(holder, path);
  if (scale === null) {
    const n = Number(t.text.trim());
    if (Number.isInteger(n) && n >= 3 && n <= 15) return String(n);
    return fail(field, `${field} is not a Glasgow coma scale total (3-15)`);
  }
  if (t.answer !== undefined && GCS_ANSWERS[t.answer]! <= scale.length) {
    return scale[GCS_ANSWERS[t.answer]! - 1]!;
  }
  const lower = t.text.trim().toLowerCase();
  const lead = /^(\d)(\b|$)/.exec(lower);
  if (
    lead !== null && Number(lead[1]) >= 1 && Number(lead[1]) <= scale.length &&
    !/et|trach/.test(lower)
  ) {
    return scale[Number(lead[1]) - 1]!;
  }
  for (const [pattern, score] of GCS_WORDS[code.channel] ?? []) {
    if (pattern.test(lower)) return typeof score === "string" ? score : scale[score - 1]!;
  }
  return fail(field, `${field} ${JSON.stringify(t.text)} is not a category of ${code.channel}`);
}

function capillaryValue(holder: Record<string, unknown>, path: string): string {
  const vq = holder.valueQuantity;
  if (isObject(vq)) {
    if (typeof vq.value !== "number" || !Number.isFinite(vq.value) || vq.value < 0) {
      return fail(
        `${path}.valueQuantity.value`,
        `${path}.valueQuantity.value must be seconds >= 0`,
      );
    }
    const unit = vq.code ?? vq.unit;
    if (unit !== "s" && unit !== "sec") {
      const f = `${path}.valueQuantity.${vq.code !== undefined ? "code" : "unit"}`;
      return fail(f, `${f} ${JSON.stringify(unit)} is not a unit of capillary refill: expected s`);
    }
    return vq.value > 3 ? "1.0" : "0.0";
  }
  if (typeof holder.valueBoolean === "boolean") return holder.valueBoolean ? "1.0" : "0.0";
  const { text: t, field } = requiredText(holder, path);
  const lower = t.text.trim().toLowerCase();
  if (/abnormal|delayed|sluggish|prolonged|>\s*3|^1(\.0)?$/.test(lower)) return "1.0";
  if (/normal|brisk|<\s*3|^0(\.0)?$/.test(lower)) return "0.0";
  return fail(
    field,
    `${field} ${JSON.stringify(t.text)} is not a capillary refill category (normal or abnormal)`,
  );
}

function valueOf(holder: Record<string, unknown>, path: string, loinc: string, code: Code) {
  switch (code.kind.type) {
    case "quantity":
      return quantityValue(holder, path, loinc, code.kind);
    case "gcs":
      return gcsValue(holder, path, code as Code & { kind: { type: "gcs" } });
    case "capillary":
      return capillaryValue(holder, path);
  }
}

function known(codes: string[]): string | undefined {
  return codes.find((c) => Object.hasOwn(LOINC_CHANNELS, c));
}

function mapObservation(resource: unknown, path: string, out: FhirObservation[]): boolean {
  if (!isObject(resource)) {
    return fail(path, `${path || "The body"} must be a FHIR resource object`);
  }
  if (resource.resourceType !== "Observation") {
    return fail(
      `${path}.resourceType`,
      `${path}.resourceType must be "Observation", got ${JSON.stringify(resource.resourceType)}`,
    );
  }
  if (resource.status === "entered-in-error" || resource.status === "cancelled") return false;
  const time = timeOf(resource, path);
  const id = typeof resource.id === "string" && resource.id !== "" ? resource.id : undefined;
  const codes = loincCodes(resource.code, `${path}.code`);
  const own = known(codes);
  const components = Array.isArray(resource.component) ? resource.component : [];
  const hasOwnValue = Object.keys(resource).some((k) => k.startsWith("value"));
  if (own !== undefined && (hasOwnValue || components.length === 0)) {
    const value = valueOf(resource, path, own, LOINC_CHANNELS[own]!);
    out.push({
      time,
      channel: LOINC_CHANNELS[own]!.channel,
      value,
      ...(id ? { eventId: id } : {}),
    });
  } else if (own === undefined && !codes.some((c) => LOINC_PANELS.includes(c))) {
    return fail(
      `${path}.code`,
      `${path}.code has no LOINC code this service maps (got ${
        codes.length ? codes.join(", ") : "no LOINC coding"
      })`,
    );
  }
  components.forEach((component, k) => {
    const cpath = `${path}.component[${k}]`;
    if (!isObject(component)) return fail(cpath, `${cpath} must be an object`);
    const ccodes = loincCodes(component.code, `${cpath}.code`);
    const loinc = known(ccodes);
    if (loinc === undefined) {
      return fail(
        `${cpath}.code`,
        `${cpath}.code has no LOINC code this service maps (got ${ccodes.join(", ") || "none"})`,
      );
    }
    const value = valueOf(component, cpath, loinc, LOINC_CHANNELS[loinc]!);
    out.push({
      time,
      channel: LOINC_CHANNELS[loinc]!.channel,
      value,
      ...(id ? { eventId: `${id}/${loinc}` } : {}),
    });
  });
  return true;
}

/**
 * Maps a FHIR R4 `Observation` or `Bundle` (of `Observation` entries) to observations.
 *
 * @example A heart rate and a temperature in Fahrenheit
 * ```ts
 * import { fhirToObservations } from "./fhir.ts";
 * const { observations } = fhirToObservations({
 *   resourceType: "Bundle",
 *   type: "collection",
 *   entry: [
 *     { resource: { resourceType: "Observation", id: "hr1", status: "final",
 *       code: { coding: [{ system: "http://loinc.org", code: "8867-4" }] },
 *       effectiveDateTime: "2024-05-01T08:00:00Z",
 *       valueQuantity: { value: 92, unit: "beats/min", system: "http://unitsofmeasure.org", code: "/min" } } },
 *     { resource: { resourceType: "Observation", status: "final",
 *       code: { coding: [{ system: "http://loinc.org", code: "8310-5" }] },
 *       effectiveDateTime: "2024-05-01T08:00:00Z",
 *       valueQuantity: { value: 98.6, code: "[degF]" } } },
 *   ],
 * });
 * if (observations[0]!.value !== 92 || Math.abs((observations[1]!.value as number) - 37) > 1e-9) {
 *   throw new Error();
 * }
 * ```
 */
export function fhirToObservations(json: unknown): FhirMapping {
  if (!isObject(json)) return fail("resourceType", "The body must be a FHIR resource object");
  const out: FhirObservation[] = [];
  let skipped = 0;
  if (json.resourceType === "Bundle") {
    if (!Array.isArray(json.entry)) {
      return fail("entry", "A Bundle needs an entry array of Observation resources");
    }
    json.entry.forEach((entry, i) => {
      if (!isObject(entry)) return fail(`entry[${i}]`, `entry[${i}] must be an object`);
      if (!mapObservation(entry.resource, `entry[${i}].resource`, out)) skipped++;
    });
  } else if (json.resourceType === "Observation") {
    if (!mapObservation(json, "", out)) skipped++;
  } else {
    return fail(
      "resourceType",
      `resourceType must be "Observation" or "Bundle", got ${JSON.stringify(json.resourceType)}`,
    );
  }
  return { observations: out, skipped };
}
