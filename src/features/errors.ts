/**
 * The error raised for bad time-series input.
 *
 * @module
 */

/** Why an observation was refused. */
export type FeatureInputProblem =
  | "unknown_channel"
  | "unknown_category"
  | "not_a_number"
  | "not_finite"
  | "time_out_of_range";

/**
 * Raised when an observation cannot be encoded. Carries the channel, the value and the hour so
 * callers (the HTTP layer, importers) can name the offending field. The state it was raised
 * from is unchanged.
 */
export class FeatureInputError extends Error {
  /** What was wrong. */
  readonly problem: FeatureInputProblem;
  /** Channel name as given. */
  readonly channel: string;
  /** Value as given. */
  readonly value: unknown;
  /** Hour since admission as given. */
  readonly hour: number;

  constructor(
    problem: FeatureInputProblem,
    detail: { channel: string; value: unknown; hour: number; message: string },
  ) {
    super(detail.message);
    this.name = "FeatureInputError";
    this.problem = problem;
    this.channel = detail.channel;
    this.value = detail.value;
    this.hour = detail.hour;
  }
}
