/**
 * The zod schemas of request bodies and path parameters, shared by the routes (validation) and
 * the OpenAPI document (`z.toJSONSchema`).
 *
 * @module
 */
import { z } from "zod";
import { REFERENCE_CONFIG } from "../src/features/discretizer_config.ts";
import { MAX_HOURS } from "../src/features/observation.ts";

/** Stay ids: 1-128 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit. */
export const STAY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Whether a stay id is acceptable (no path separators, no `..`). */
export function isStayId(id: string): boolean {
  return STAY_ID.test(id) && !id.includes("..");
}

/** An ISO 8601 date-time with a time zone. */
export const IsoDateTime = z.iso.datetime({ offset: true })
  .describe("ISO 8601 date-time with a time zone, e.g. 2024-05-01T08:00:00Z");

/** Hours since admission or an ISO timestamp. */
export const Time = z.union([
  z.number().gt(-1).lte(MAX_HOURS).describe("Hours since admission"),
  IsoDateTime,
]);

/** Channel names of the discretizer. */
export const Channel = z.enum(REFERENCE_CONFIG.channels as [string, ...string[]])
  .describe("Channel name exactly as in discretizer.json");

/** Client event ids and idempotency keys: printable ASCII, at most 200 characters. */
export const EventId = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/);

/** One observation. */
export const ObservationSchema = z.strictObject({
  time: Time,
  channel: Channel,
  value: z.union([z.number(), z.string().max(64)])
    .describe("A number (continuous channels) or the category text (categorical channels)"),
  eventId: EventId.optional().describe("Client event id; a repeated id is ignored"),
});

/** A JSON batch of observations. */
export const ObservationBatch = z.strictObject({
  observations: z.array(ObservationSchema).min(1).max(10_000),
});

/** A stay's statics (for a model with statics heads; all optional). */
const Statics = {
  unit: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional()
    .describe("First care unit, MIMIC's codes (CCU, CSRU, MICU, SICU, TSICU, ...)"),
  age: z.number().gte(0).lte(130).optional().describe("Age in years at ICU admission"),
  sex: z.enum(["F", "M"]).optional(),
};

/** Admission. */
export const AdmitBody = z.strictObject({
  stayId: z.string().regex(STAY_ID).refine((s) => !s.includes(".."), "Must not contain .."),
  admittedAt: IsoDateTime.optional(),
  ...Statics,
});

/** What became known about a stay (`POST /v1/stays/:stayId/outcomes`). */
export const OutcomeBody = z.strictObject({
  eventId: EventId.optional().describe("Client event id; a repeated id is ignored"),
  died: z.boolean().optional().describe("Died during the hospital admission"),
  deathTime: z.union([z.number().lte(MAX_HOURS), IsoDateTime]).optional()
    .describe("Time of death (hours since admission or ISO), also after discharge"),
  dischargeTime: z.union([z.number().lte(MAX_HOURS), IsoDateTime]).optional()
    .describe("When the stay ended (hours since admission or ISO): the length of stay"),
  labels: z.record(
    z.string().min(1).max(32),
    z.union([z.number(), z.string().max(64), z.array(z.number()).max(1000)]),
  ).optional().describe(
    "Labels by task code: binary 0/1, multi-label 0/1 per label, multi-class class index or name",
  ),
});

/** Discharge (the body is optional); `outcome` records an outcome with it. */
export const DischargeBody = z.strictObject({
  at: IsoDateTime.optional(),
  outcome: OutcomeBody.optional()
    .describe("The stay's outcome; dischargeTime defaults to the discharge time"),
});

/** A person's decision on a head (`promote`, `rollback`). */
export const HeadDecisionBody = z.strictObject({
  by: z.string().min(1).max(200).describe("Who decides (recorded in the change log)"),
  version: z.number().int().gte(1).optional()
    .describe("Head version (default: the candidate, or for a rollback the previous incumbent)"),
  reason: z.string().max(2000).optional(),
});

/** A note as JSON. */
export const NoteBody = z.strictObject({
  text: z.string().min(1).max(1_000_000),
  time: Time.optional(),
  eventId: EventId.optional().describe("Client event id; a repeated id is ignored"),
});

/** `POST /v1/predict`: every input of one sample. */
export const PredictBody = z.strictObject({
  tasks: z.array(z.string().min(1).max(32)).min(1).max(16).optional()
    .describe("Task codes (default: every task of the model)"),
  hours: z.number().gte(0).lte(MAX_HOURS).optional()
    .describe("Prediction time in hours since admission (default: the latest observation)"),
  admittedAt: IsoDateTime.optional().describe("Needed only when observation times are ISO"),
  observations: z.array(ObservationSchema).max(100_000).optional(),
  image: z.strictObject({
    data: z.string().min(1).max(28_000_000).describe("Base64 image bytes"),
    mediaType: z.enum(["image/jpeg", "image/png", "application/dicom"]),
  }).optional(),
  note: z.string().min(1).max(1_000_000).optional().describe("Full note text"),
  ...Statics,
});

/** `?since=` of the prediction history. */
export const SinceQuery = z.coerce.number().int().gte(0).max(Number.MAX_SAFE_INTEGER);
