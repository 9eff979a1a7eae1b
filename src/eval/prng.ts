/**
 * Seeded randomness for evaluation (bootstrap resampling): the project's one generator.
 *
 * @module
 */
export { seededRandom } from "../data/random.ts";
