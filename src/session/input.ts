/**
 * Checks of what callers send to the stay service, raised as {@linkcode ServiceError}s naming
 * the offending field, and the note text the model reads.
 *
 * @module
 */
import type { StayStatics } from "../model/statics.ts";
import { FeatureInputError } from "../features/errors.ts";
import { extractSection } from "../features/notes/section.ts";
import { normalizeNoteText } from "../features/notes/normalize.ts";
import { ServiceError } from "./errors.ts";
import { parseIsoTimestamp } from "./time.ts";

/** Stay ids: 1-128 characters, letters, digits and `._:-`, starting with a letter or digit. */
export const STAY_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Throws 400 unless `stayId` matches {@linkcode STAY_ID_PATTERN}.
 *
 * @example
 * ```ts
 * import { checkStayId } from "./input.ts";
 * checkStayId("icu-12.3");
 * let refused = false;
 * try { checkStayId("../x"); } catch { refused = true; }
 * if (!refused) throw new Error();
 * ```
 */
export function checkStayId(stayId: unknown): void {
  if (typeof stayId !== "string" || !STAY_ID_PATTERN.test(stayId)) {
    throw new ServiceError(
      400,
      "invalid_stay_id",
      "A stay id is 1-128 letters, digits or ._:- starting with a letter or digit",
      { field: "stayId" },
    );
  }
}

/** Throws 400 unless a client event id is a string of 1-255 characters. */
export function checkEventId(eventId: unknown, field: string): string {
  if (typeof eventId !== "string" || eventId.length === 0 || eventId.length > 255) {
    throw new ServiceError(400, "invalid_event_id", "An event id is a string of 1-255 characters", {
      field,
    });
  }
  return eventId;
}

/**
 * The note text the model reads: the normalized past medical history section, or the whole
 * normalized note when it has no such section (or an empty one).
 *
 * @example
 * ```ts
 * import { noteSection } from "./input.ts";
 * if (noteSection("PMH: CHF, COPD\nSocial History: none") !== "chf copd") throw new Error();
 * if (noteSection("Febrile overnight.") !== "febrile overnight") throw new Error();
 * ```
 */
export function noteSection(text: string): string {
  const section = extractSection(text, "past-medical-history");
  return section === null || section === "" ? normalizeNoteText(text) : section;
}

const FIELD_OF_PROBLEM: Record<FeatureInputError["problem"], string> = {
  unknown_channel: "channel",
  unknown_category: "value",
  not_a_number: "value",
  not_finite: "value",
  time_out_of_range: "time",
};

/** A {@linkcode FeatureInputError} as a 422 naming `field.channel`, `.value` or `.time`. */
export function featureError(stayId: string, error: unknown, field: string): unknown {
  if (!(error instanceof FeatureInputError)) return error;
  return new ServiceError(
    422,
    error.problem,
    `Cannot append observation to stay "${stayId}": ${error.message}`,
    { field: `${field}.${FIELD_OF_PROBLEM[error.problem]}`, cause: error },
  );
}

/** An optional ISO timestamp option (`admittedAt`, `at`) as a normalized ISO string. */
export function isoOption(value: unknown, field: string, what: string): string {
  const ms = typeof value === "string" ? parseIsoTimestamp(value) : undefined;
  if (ms === undefined) {
    throw new ServiceError(
      422,
      "invalid_time",
      `${what} ${JSON.stringify(value)} is not an ISO 8601 timestamp with a zone`,
      { field },
    );
  }
  return new Date(ms).toISOString();
}

/**
 * Checks a stay's statics (unit code, age in years 0-130, sex `F`/`M`) and returns them without
 * absent fields; a bad value is a 422 naming its field.
 *
 * @example
 * ```ts
 * import { checkStatics } from "./input.ts";
 * const s = checkStatics({ unit: "MICU", age: 71 });
 * if (s.unit !== "MICU" || s.age !== 71 || "sex" in s) throw new Error();
 * ```
 */
export function checkStatics(value: StayStatics): StayStatics {
  const bad = (field: string, message: string): never => {
    throw new ServiceError(422, "invalid_statics", message, { field });
  };
  const { unit, age, sex } = value;
  if (unit !== undefined && (typeof unit !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(unit))) {
    bad("unit", "unit must be a care unit code of 1-32 letters, digits, _ or - (e.g. MICU)");
  }
  if (age !== undefined && (typeof age !== "number" || !(age >= 0 && age <= 130))) {
    bad("age", "age must be a number of years from 0 to 130");
  }
  if (sex !== undefined && sex !== "F" && sex !== "M") bad("sex", 'sex must be "F" or "M"');
  return {
    ...(unit === undefined ? {} : { unit }),
    ...(age === undefined ? {} : { age }),
    ...(sex === undefined ? {} : { sex }),
  };
}
