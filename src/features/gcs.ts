/**
 * The Glasgow coma scale component categories of `discretizer.json` written as scores: the
 * numbered variants ("4 Spontaneously", "5 Oriented", "6 Obeys Commands"), in score order, so
 * a numeric score maps to exactly the text the discretizer one-hot encodes.
 *
 * @module
 */

/** Category text of each score: index 0 is score 1. */
export const GCS_SCORE_TEXT: Readonly<{
  eye: readonly string[];
  verbal: readonly string[];
  motor: readonly string[];
}> = Object.freeze({
  eye: Object.freeze(["1 No Response", "2 To pain", "3 To speech", "4 Spontaneously"]),
  verbal: Object.freeze([
    "1 No Response",
    "2 Incomp sounds",
    "3 Inapprop words",
    "4 Confused",
    "5 Oriented",
  ]),
  motor: Object.freeze([
    "1 No Response",
    "2 Abnorm extensn",
    "3 Abnorm flexion",
    "4 Flex-withdraws",
    "5 Localizes Pain",
    "6 Obeys Commands",
  ]),
});

/**
 * The category text of a component score.
 *
 * @example Eye opening 4
 * ```ts
 * import { gcsScoreText } from "./gcs.ts";
 * if (gcsScoreText("eye", 4) !== "4 Spontaneously") throw new Error();
 * ```
 */
export function gcsScoreText(component: keyof typeof GCS_SCORE_TEXT, score: number): string {
  const text = GCS_SCORE_TEXT[component][score - 1];
  if (text === undefined || !Number.isInteger(score)) {
    throw new RangeError(`Glasgow coma scale ${component} score ${score} is out of range`);
  }
  return text;
}
