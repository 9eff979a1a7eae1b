/** A real `serve` on loopback with the default model and a change control plan, for the online tests. */
import { serve } from "../../src/cli/serve.ts";

export interface Served {
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Starts `serve` (port 0, wasm) on `dataDir` with `plan` (a plan document) and waits until ready. */
export async function startServe(
  dataDir: string,
  plan: Record<string, unknown>,
  options: { model?: string } = {},
): Promise<Served> {
  const planPath = `${dataDir}.plan.json`;
  await Deno.writeTextFile(planPath, JSON.stringify(plan));
  const stop = new AbortController();
  const { promise: listening, resolve: onListen } = Promise.withResolvers<number>();
  const { promise: ready, resolve: onReady } = Promise.withResolvers<void>();
  const finished = serve({
    port: 0,
    data: dataDir,
    plan: planPath,
    backend: "wasm",
    logLevel: "warn",
    rateLimit: false,
    recomputeDelayMs: 0,
    signal: stop.signal,
    onListen,
    onReady,
    ...(options.model === undefined ? {} : { model: options.model }),
  });
  const port = await Promise.race([listening, finished.then(() => 0)]);
  await Promise.race([ready, finished]);
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    async stop() {
      stop.abort();
      await finished;
      await Deno.remove(planPath).catch(() => {});
    },
  };
}

/** A plan document: every listed task with the given head rules. */
export function planOf(heads: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return { format: "flexcare-change-control", format_version: 1, heads };
}
