/**
 * The short version of `bench/chaos.ts`: a real `flexcare serve` child on the default model
 * (wasm, inference in its Worker) under hostile traffic for a few seconds. The bounds are looser
 * than the bench's targets only where a loaded 2-core CI machine runs other test files beside
 * it (probe latency); the counts (no failed probe, stored data) are the bench's, and step runs
 * are counted per write the server stored.
 */
import { assert, assertEquals } from "../assert.ts";
import { runChaos, storeDelay } from "../../bench/chaos.ts";

Deno.test("chaos: store delays follow the MIMIC-III demo quantiles", () => {
  const draws = Array.from({ length: 10_000 }, (_, i) => storeDelay((i + 0.5) / 10_000));
  const share = (f: (d: number) => boolean) => draws.filter(f).length / draws.length;
  assert(Math.abs(share((d) => d < 0) - 0.12) < 0.005);
  assert(Math.abs(share((d) => d > 1) - 0.167) < 0.005);
  assert(Math.abs(share((d) => d > 2) - 0.045) < 0.005);
  assert(Math.abs(draws[5000]! - 0.25) < 0.01);
});

Deno.test({
  name: "chaos (short): timeouts, retries, late data, slow and idle connections, stalled SSE",
  async fn() {
    const r = await runChaos({
      backend: "wasm",
      clients: 8,
      seconds: 3,
      slow: 4,
      idle: 10,
      sse: 3,
      after: 3,
      headerTimeout: 1,
      bodyTimeout: 1.5,
    });
    assertEquals(r.healthz.failed, 0, "no failed /healthz probe");
    assert(r.healthz.p99 < 1000, `/healthz p99 ${r.healthz.p99} ms`);
    assert(r.writes.answeredBatches > 20, `only ${r.writes.answeredBatches} writes answered`);
    assert(r.writes.aborted > 0, "the short-timeout clients gave up on some requests");
    assertEquals(r.writes.errors, 0, "no write answered with an error");
    // Work per write the server took in. The storm this guards against was ~14 step runs per
    // write; this workload's own cost is ~2 (each store-hour batch completes one hour and brings
    // late values for an earlier one), up to ~2.8 on a 2-core machine with four busy processes
    // beside it (time-based recompute coalescing gathers fewer writes when fewer arrive). The
    // per-answered ratio also counts on how many short-timeout writes were stored unanswered,
    // which varies by machine: bench/chaos.ts reports it against the target.
    assert(
      r.stepRunsPerStoredWrite <= 4,
      `${r.stepRunsPerStoredWrite} step runs per stored write (${
        JSON.stringify(r.writes)
      }, ${r.stepRuns} step runs)`,
    );
    assert(r.freshOkAfterMs <= 5000, `fresh write ok ${r.freshOkAfterMs} ms after the load`);
    assertEquals(r.data.inconsistent, [], "stored = acknowledged..sent for every stay");
    assert(r.data.stored >= r.data.acknowledged && r.data.acknowledged > 0);
    assertEquals(r.connections.slowClosed, 4, "slow bodies closed");
    assertEquals(r.connections.slowGot408, 4, "slow bodies answered 408");
    assertEquals(r.connections.idleClosed, 10, "idle and half-sent heads closed");
    assert(
      r.connections.idleClosedAfterMs < 3000,
      `idle closed at ${r.connections.idleClosedAfterMs}`,
    );
    assertEquals(r.log.error, 0, "nothing logged as an error");
    assertEquals(r.log.warn, 0, "nothing logged as a warning");
  },
});
