/**
 * Where the evaluation's predictions come from. The CLI evaluates stored predictions
 * (`--predictions FILE.jsonl`, {@linkcode jsonlEvalSource}); the model-driven mode
 * (`--model DIR --data DIR`) is an {@linkcode EvalSource} built by a
 * {@linkcode ModelEvalSourceFactory} that the model runtime provides: it runs the model over a
 * dataset split and yields one {@linkcode PredictionRecord} per listfile row (with
 * `news2` for decompensation, from `news2FromMatrix` on the raw features, and `groups` such as
 * the modality pattern and the listfile columns).
 *
 * @module
 */
import type { PredictionRecord } from "./predictions.ts";

/** A stream of predictions to evaluate. */
export interface EvalSource {
  /** Human-readable origin, printed in the report (e.g. the file or model and split). */
  readonly description: string;
  /** The predictions, in any order. */
  records(): AsyncIterable<PredictionRecord>;
}

/** What the model-driven mode is asked to run. */
export interface ModelEvalOptions {
  /** Model folder (manifest and weights). */
  readonly modelDir: string;
  /** Dataset folder in the reference layout. */
  readonly dataDir: string;
  /** Split to evaluate. */
  readonly split: "train" | "val" | "test";
  /** Task codes to evaluate; empty for every task the model has. */
  readonly tasks: readonly string[];
  /** Samples per model call. */
  readonly batchSize: number;
  /** Called as samples are done (for a progress bar). */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Apply the manifest's calibration temperatures (off to fit them).
   * @default {true}
   */
  readonly calibrated?: boolean;
}

/** Builds the model-driven source; provided by the model runtime. */
export type ModelEvalSourceFactory = (options: ModelEvalOptions) => Promise<EvalSource>;

/**
 * A source reading stored predictions from a JSON-lines file (see `predictions.ts`).
 *
 * @example Read stored predictions
 * ```ts ignore
 * import { jsonlEvalSource } from "./eval_source.ts";
 * for await (const record of jsonlEvalSource("predictions.jsonl").records()) console.log(record.task);
 * ```
 */
export function jsonlEvalSource(path: string): EvalSource {
  return {
    description: `predictions from ${path}`,
    async *records() {
      const lines = (await Deno.readTextFile(path)).split("\n");
      for (const [i, line] of lines.entries()) {
        if (line.trim() === "") continue;
        let record: PredictionRecord;
        try {
          record = JSON.parse(line);
        } catch (error) {
          throw new SyntaxError(`${path}:${i + 1}: invalid JSON (${(error as Error).message})`);
        }
        yield record;
      }
    },
  };
}

/**
 * A source over records already in memory (tests, notebooks, the service's logs).
 *
 * @example Records in memory
 * ```ts
 * import { memoryEvalSource } from "./eval_source.ts";
 * const source = memoryEvalSource([{ task: "ihm", labels: 1, probs: 0.7 }]);
 * let n = 0;
 * for await (const _ of source.records()) n++;
 * if (n !== 1) throw new Error();
 * ```
 */
export function memoryEvalSource(
  records: readonly PredictionRecord[],
  description = "predictions in memory",
): EvalSource {
  return {
    description,
    async *records() {
      yield* records;
    },
  };
}
