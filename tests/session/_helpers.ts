/**
 * Shared pieces of the session tests: the tiny model loaded once per process, a service on a
 * temporary folder, a deterministic synthetic stay and a small PNG.
 *
 * @module
 */
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import {
  createStayService,
  type ManagedStayService,
  type StayServiceOptions,
} from "../../src/session/service.ts";
import type { StayPrediction } from "../../src/session/types.ts";
import { tinyModel } from "../model/tiny_model.ts";

export { hourOfVitals, NOTE, prng, smallPng } from "./_data.ts";

let model: Promise<FlexCareModel> | undefined;

/** The tiny model on wasm (exported and loaded once per process; `dir` overrides the export). */
export function loadModel(dir?: string): Promise<FlexCareModel> {
  model ??=
    (async () =>
      FlexCareModel.load(dir ?? await tinyModel(), { backend: "wasm", offThread: true }))();
  return model;
}

/** A fixed clock that tests can move. */
export class TestClock {
  ms: number;
  constructor(iso = "2024-03-01T08:00:00.000Z") {
    this.ms = Date.parse(iso);
  }
  readonly now = (): Date => new Date(this.ms);
  advanceHours(hours: number): void {
    this.ms += hours * 3_600_000;
  }
}

/** A service on a new temporary folder (or `dataDir`), sweep timer off. */
export async function openService(
  options: Partial<StayServiceOptions> = {},
): Promise<{ service: ManagedStayService; dataDir: string }> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "flexcare-sessions-" });
  const service = await createStayService({
    sweepIntervalMs: 0,
    ...options,
    dataDir,
    model: options.model ?? await loadModel(),
  });
  return { service, dataDir };
}

/** Predictions without their creation time (which depends on the clock). */
export function comparable(predictions: readonly StayPrediction[]): unknown[] {
  return predictions.map(({ createdAt: _, ...rest }) => rest);
}

/** Removes a temporary folder, ignoring errors. */
export async function removeDir(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
