/**
 * Hostile traffic against a real `flexcare serve` child process on loopback, bounded in clients,
 * connections and time. What it mixes:
 *
 * - `--clients` patient feeds, each posting hourly vitals to its own stay in **store-time order**:
 *   every vital's chart time is delayed by a draw from the store-time delays of the MIMIC-III
 *   demo CHARTEVENTS (median 0.25 h, 16.7% over 1 h, 4.5% over 2 h, p99 3.6 h, 12% stored before
 *   their chart time), so late data is ordinary traffic;
 * - every `--abort-every`th client gives up on each request after `--abort-ms` and goes on with
 *   the next hour (a client with a short timeout);
 * - every fifth client (from the second) resends a quarter of its requests with the same
 *   `Idempotency-Key`, and every fifth (from the third) a quarter with the same event ids under a
 *   new key (at-least-once delivery);
 * - `--slow` connections that send a head and then one body byte every 500 ms, `--idle`
 *   connections that send nothing and as many that stop halfway through their head, `--sse`
 *   subscribers that never read their stream.
 *
 * A prober asks `GET /healthz` every 250 ms (2 s timeout) from the start of the load until
 * `--after` seconds past its end, `GET /metrics` and `/readyz` every second. After the load a
 * fresh write (one vital on a stay of its own, 1 s timeout) is sent every 250 ms. Then the server
 * is left to finish its queued recomputes, the step runs are read from `/metrics`, and every
 * stay's stored observations are checked against what was acknowledged (all of it) and sent
 * (nothing more). Warnings and errors in the server's log are counted.
 *
 *   deno run -A bench/chaos.ts [--backend wasm] [--clients 20] [--seconds 10] [--abort-every 4]
 *                              [--abort-ms 30] [--slow 20] [--idle 50] [--sse 10] [--after 6]
 *                              [--model models/default] [--no-write] [--check]
 *
 * `--check` exits 1 unless the targets hold: `/healthz` p99 <= 100 ms with no failed
 * probe, a fresh write answered within 1 s at most 5 s after the load, <= 2 step runs per
 * answered write, no stored data lost or duplicated. `tests/bench/chaos_test.ts` runs a short
 * version through {@linkcode runChaos}.
 *
 * @module
 */
import { parseArgs } from "node:util";
import os from "node:os";
import { appendResults, freePort, quantile, waitReady } from "./results.ts";
import { seededRandom } from "../src/data/random.ts";

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  model: string;
  backend: string;
  clients: number;
  seconds: number;
  abortEvery: number;
  abortMs: number;
  slow: number;
  idle: number;
  sse: number;
  /** Seconds of probing and fresh writes after the load. */
  after: number;
  /** The server's header and body timeouts (seconds). */
  headerTimeout: number;
  bodyTimeout: number;
  seed: number;
}

/** What one run measured. */
export interface ChaosResult {
  backend: string;
  healthz: {
    probes: number;
    failed: number;
    p50: number;
    p99: number;
    max: number;
    duringP99: number;
    afterP99: number;
  };
  metricsP99: number;
  readyzP99: number;
  writes: {
    sent: number;
    answered: number;
    answeredOk: number;
    answeredBatches: number;
    aborted: number;
    /** Aborted writes the server dropped unstored (its `flexcare_writes_abandoned_total`). */
    abandoned: number;
    refused: number;
    errors: number;
    retries: number;
    latencyP50: number;
    latencyP99: number;
  };
  /** Steps the server ran for the load (on-time, recomputes, aborted clients' stored writes). */
  stepRuns: number;
  recomputes: number;
  /** Step runs per write answered 200 (first sends and retries alike, as the issue counts). */
  stepRunsPerAnsweredWrite: number;
  /** Step runs per distinct request answered 200 (retries not counted): the stricter ratio. */
  stepRunsPerNewWrite: number;
  /**
   * Step runs per first send the server took in (answered 200, or aborted by its client and
   * not dropped): the work bound that does not depend on how many short-timeout clients gave up
   * before their answer on a given machine.
   */
  stepRunsPerStoredWrite: number;
  /** First fresh write after the load answered within 1 s: ms after the load's end. */
  freshOkAfterMs: number;
  freshLatencies: number[];
  /** ms until the server had no queued step after the load. */
  drainedAfterMs: number;
  connections: {
    slowClosed: number;
    slowGot408: number;
    slowClosedAfterMs: number;
    idleClosed: number;
    idleClosedAfterMs: number;
  };
  data: {
    stays: number;
    acknowledged: number;
    sentEvents: number;
    stored: number;
    /** Stays whose stored count is below what was acknowledged or above what was sent. */
    inconsistent: string[];
  };
  log: { warn: number; error: number; lines: number };
}

export const DEFAULT_OPTIONS: ChaosOptions = {
  model: "models/default",
  backend: "wasm",
  clients: 20,
  seconds: 10,
  abortEvery: 4,
  abortMs: 30,
  slow: 20,
  idle: 50,
  sse: 10,
  after: 6,
  headerTimeout: 2,
  bodyTimeout: 3,
  seed: 20261207,
};

/**
 * Inverse CDF of the store-time delay (hours, stored minus charted), piecewise linear through
 * the MIMIC-III demo CHARTEVENTS quantiles quoted in the module doc.
 */
const DELAY_QUANTILES: readonly [number, number][] = [
  [0, -1],
  [0.12, 0],
  [0.5, 0.25],
  [0.833, 1],
  [0.955, 2],
  [0.99, 3.6],
  [1, 6],
];

/** A store-time delay (hours) for a uniform draw `u`. */
export function storeDelay(u: number): number {
  for (let i = 1; i < DELAY_QUANTILES.length; i++) {
    const [q1, d1] = DELAY_QUANTILES[i]!;
    if (u <= q1) {
      const [q0, d0] = DELAY_QUANTILES[i - 1]!;
      return d0 + ((u - q0) / (q1 - q0)) * (d1 - d0);
    }
  }
  return DELAY_QUANTILES.at(-1)![1];
}

const VITALS: readonly [string, number, number][] = [
  ["Heart Rate", 88, 12],
  ["Respiratory rate", 19, 4],
  ["Oxygen saturation", 95, 3],
  ["Systolic blood pressure", 118, 15],
  ["Diastolic blood pressure", 62, 8],
  ["Mean blood pressure", 80, 9],
  ["Temperature", 37, 0.6],
];

interface Obs {
  time: number;
  channel: string;
  value: number;
  eventId: string;
}

/** A stay's vitals in store order, cut into one request per store hour. */
function storeOrderBatches(stay: string, hours: number, random: () => number): Obs[][] {
  const events: { store: number; obs: Obs }[] = [];
  for (let h = 0; h < hours; h++) {
    for (const [channel, base, spread] of VITALS) {
      const time = Math.round((h + 0.05 + 0.9 * random()) * 1000) / 1000;
      const value = Math.round((base + spread * (random() * 2 - 1)) * 10) / 10;
      events.push({
        store: time + storeDelay(random()),
        obs: { time, channel, value, eventId: `${stay}-${h}-${channel.replaceAll(" ", "_")}` },
      });
    }
  }
  events.sort((a, b) => a.store - b.store);
  const batches: Obs[][] = [];
  for (const e of events) {
    const k = Math.max(0, Math.floor(e.store));
    (batches[k] ??= []).push(e.obs);
  }
  return batches.filter((b) => b !== undefined && b.length > 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

/** Runs the hostile load once against a fresh server and data folder. */
export async function runChaos(options: Partial<ChaosOptions> = {}): Promise<ChaosResult> {
  const o = { ...DEFAULT_OPTIONS, ...options };
  const root = new URL("../", import.meta.url).pathname;
  const port = freePort();
  const data = await Deno.makeTempDir({ prefix: "flexcare-chaos-" });
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}src/cli/main.ts`,
      "serve",
      "--model",
      o.model,
      "--port",
      String(port),
      "--data",
      data,
      "--backend",
      o.backend,
      "--rate-limit",
      "0",
      "--header-timeout",
      String(o.headerTimeout),
      "--body-timeout",
      String(o.bodyTimeout),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = { warn: 0, error: 0, lines: 0 };
  const logLines: string[] = [];
  const readLog = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        log.lines++;
        const level = line.split(" ")[1];
        if (level === "warn") log.warn++;
        if (level === "error") log.error++;
        if (level === "warn" || level === "error") logLines.push(line);
      }
    }
  };
  const logsDone = Promise.all([readLog(server.stdout), readLog(server.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const sockets: Deno.Conn[] = [];
  const sseBodies: ReadableStream<Uint8Array>[] = [];
  try {
    await waitReady(url);
    const json = { "content-type": "application/json" };
    const admit = async (stayId: string) => {
      const r = await fetch(`${url}/v1/stays`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ stayId, admittedAt: "2024-01-01T00:00:00Z" }),
      });
      await r.body?.cancel();
      if (r.status !== 201) throw new Error(`admit ${stayId}: ${r.status}`);
    };
    const stays = Array.from({ length: o.clients }, (_, i) => `chaos-${i}`);
    for (const id of [...stays, "chaos-fresh", "chaos-slow"]) await admit(id);
    const metricsText = async () => await (await fetch(`${url}/metrics`)).text();
    const before = await metricsText();
    const stepsBefore = metricValue(before, "flexcare_step_runs_total");
    const recomputesBefore = metricValue(before, "flexcare_recomputes_total");
    const abandonedBefore = metricValue(before, "flexcare_writes_abandoned_total");

    // Probes, from now until the end of the fresh writes.
    const probes: { at: number; ms: number; ok: boolean }[] = [];
    const metricsMs: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t = performance.now();
        try {
          const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
          await r.body?.cancel();
          probes.push({ at: t, ms: performance.now() - t, ok: r.ok });
        } catch {
          probes.push({ at: t, ms: performance.now() - t, ok: false });
        }
        await sleep(Math.max(0, 250 - (performance.now() - t)));
      }
    })();
    const readyzMs: number[] = [];
    const timed = async (path: string, into: number[]) => {
      const t = performance.now();
      try {
        const r = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
        await r.text();
        into.push(performance.now() - t);
      } catch {
        into.push(2000);
      }
    };
    const metricsProber = (async () => {
      while (probing) {
        await timed("/metrics", metricsMs);
        await timed("/readyz", readyzMs);
        await sleep(1000);
      }
    })();

    // Connections that misbehave.
    const started = performance.now();
    const slowResults: { closedMs: number; got408: boolean }[] = [];
    const idleResults: number[] = [];
    const watchClose = async (conn: Deno.Conn): Promise<{ ms: number; text: string }> => {
      const buf = new Uint8Array(4096);
      let text = "";
      while (true) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return { ms: performance.now() - started, text };
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    };
    const slowTasks = Array.from({ length: o.slow }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      sockets.push(conn);
      await conn.write(new TextEncoder().encode(
        "POST /v1/stays/chaos-slow/observations HTTP/1.1\r\nHost: x\r\n" +
          "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{",
      ));
      const closed = watchClose(conn);
      let done = false;
      closed.then(() => done = true);
      while (!done && performance.now() - started < (o.seconds + o.after) * 1000) {
        await sleep(500);
        if (!done) await conn.write(new TextEncoder().encode(" ")).catch(() => done = true);
      }
      const r = await closed;
      slowResults.push({ closedMs: r.ms, got408: r.text.startsWith("HTTP/1.1 408 ") });
    });
    const idleTasks = Array.from({ length: o.idle }, async (_, i) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      sockets.push(conn);
      if (i % 2 === 1) await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHo"));
      idleResults.push((await watchClose(conn)).ms);
    });
    for (let i = 0; i < o.sse; i++) {
      const r = await fetch(`${url}/v1/stays/${stays[i % stays.length]}/stream`);
      sseBodies.push(r.body!); // never read
    }

    // The patient feeds.
    const writes = {
      sent: 0,
      answered: 0,
      answeredOk: 0,
      answeredBatches: 0,
      aborted: 0,
      refused: 0,
      errors: 0,
      retries: 0,
    };
    const latencies: number[] = [];
    const acknowledged = new Map<string, Set<string>>();
    const sentEvents = new Map<string, Set<string>>();
    const errorSamples: string[] = [];
    const deadline = started + o.seconds * 1000;
    const hours = Math.ceil(o.seconds * 60) + 10;
    await Promise.all(stays.map(async (stay, i) => {
      const aborting = i % o.abortEvery === o.abortEvery - 1;
      const retrySameKey = !aborting && i % 5 === 1;
      const resendIds = !aborting && i % 5 === 2;
      const mine = seededRandom(o.seed + i);
      const acks = new Set<string>();
      const sent = new Set<string>();
      acknowledged.set(stay, acks);
      sentEvents.set(stay, sent);
      /** Sends one request; true when it should be sent again (a 503 after its Retry-After). */
      const post = async (batch: Obs[], key: string, first: boolean): Promise<boolean> => {
        for (const e of batch) sent.add(e.eventId);
        writes.sent++;
        const t = performance.now();
        try {
          const r = await fetch(`${url}/v1/stays/${stay}/observations`, {
            method: "POST",
            headers: { ...json, "idempotency-key": key },
            body: JSON.stringify({ observations: batch }),
            ...(aborting ? { signal: AbortSignal.timeout(o.abortMs) } : {}),
          });
          const text = await r.text();
          latencies.push(performance.now() - t);
          writes.answered++;
          if (r.status === 200) {
            writes.answeredOk++;
            if (first) writes.answeredBatches++;
            for (const e of batch) acks.add(e.eventId);
          } else if (r.status === 503) {
            writes.refused++;
            await sleep(Number(r.headers.get("retry-after") ?? "1") * 1000);
            return true;
          } else {
            writes.errors++;
            if (errorSamples.length < 5) errorSamples.push(`${r.status} ${text.slice(0, 200)}`);
          }
        } catch {
          writes.aborted++;
        }
        return false;
      };
      const batches = storeOrderBatches(stay, hours, mine);
      for (let k = 0; k < batches.length && performance.now() < deadline; k++) {
        const key = `${stay}-b${k}`;
        // Refused (503): the same request again after Retry-After, as a feed would.
        while ((await post(batches[k]!, key, true)) && performance.now() < deadline);
        if ((retrySameKey || resendIds) && mine() < 0.25 && performance.now() < deadline) {
          writes.retries++;
          await post(batches[k]!, retrySameKey ? key : `${key}-again`, false);
        }
      }
    }));
    const loadEnd = performance.now();

    // Fresh writes after the load.
    const fresh: { at: number; ms: number; ok: boolean }[] = [];
    for (let n = 0; performance.now() - loadEnd < o.after * 1000; n++) {
      const t = performance.now();
      try {
        const r = await fetch(`${url}/v1/stays/chaos-fresh/observations`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({
            observations: [{ time: n + 0.5, channel: "Heart Rate", value: 80 + (n % 7) }],
          }),
          signal: AbortSignal.timeout(1000),
        });
        await r.body?.cancel();
        fresh.push({ at: t - loadEnd, ms: performance.now() - t, ok: r.status === 200 });
      } catch {
        fresh.push({ at: t - loadEnd, ms: performance.now() - t, ok: false });
      }
      await sleep(Math.max(0, 250 - (performance.now() - t)));
    }
    probing = false;
    await Promise.all([prober, metricsProber]);

    // Let queued recomputes finish, then count.
    let drainedAfterMs = Number.NaN;
    let after = "";
    const drainBy = performance.now() + 180_000;
    let previous = Number.NaN;
    while (performance.now() < drainBy) {
      after = await metricsText();
      const steps = metricValue(after, "flexcare_step_runs_total");
      if (metricValue(after, "flexcare_queued_steps") === 0 && steps === previous) {
        drainedAfterMs = performance.now() - loadEnd;
        break;
      }
      previous = steps;
      await sleep(500);
    }
    await Promise.all([...slowTasks, ...idleTasks]);
    for (const body of sseBodies) await body.cancel().catch(() => {});

    // Stored data against what was acknowledged and sent.
    const inconsistent: string[] = [];
    let stored = 0;
    let ackTotal = 0;
    let sentTotal = 0;
    for (const stay of stays) {
      const r = await fetch(`${url}/v1/stays/${stay}`);
      const state = await r.json();
      const acks = acknowledged.get(stay)!.size;
      const sent = sentEvents.get(stay)!.size;
      stored += state.observations;
      ackTotal += acks;
      sentTotal += sent;
      if (state.observations < acks || state.observations > sent) {
        inconsistent.push(
          `${stay}: stored ${state.observations}, acknowledged ${acks}, sent ${sent}`,
        );
      }
    }
    if (errorSamples.length > 0) console.error("unexpected answers:", errorSamples);
    if (logLines.length > 0) console.error("server warnings/errors:", logLines.slice(0, 5));

    const stepRuns = metricValue(after, "flexcare_step_runs_total") - stepsBefore;
    const abandoned = metricValue(after, "flexcare_writes_abandoned_total") - abandonedBefore;
    // Aborting stays never resend, so every aborted request was a first send.
    const storedWrites = writes.answeredBatches + writes.aborted - abandoned;
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const all = sorted(probes.map((p) => p.ms));
    const during = sorted(probes.filter((p) => p.at <= loadEnd).map((p) => p.ms));
    const afterProbes = sorted(probes.filter((p) => p.at > loadEnd).map((p) => p.ms));
    const firstOk = fresh.find((f) => f.ok && f.ms < 1000);
    const slowClosed = slowResults.filter((s) => s.closedMs < (o.seconds + o.after) * 1000);
    return {
      backend: o.backend,
      healthz: {
        probes: probes.length,
        failed: probes.filter((p) => !p.ok).length,
        p50: quantile(all, 0.5),
        p99: quantile(all, 0.99),
        max: all.at(-1) ?? Number.NaN,
        duringP99: quantile(during, 0.99),
        afterP99: quantile(afterProbes, 0.99),
      },
      metricsP99: quantile(sorted(metricsMs), 0.99),
      readyzP99: quantile(sorted(readyzMs), 0.99),
      writes: {
        ...writes,
        abandoned,
        latencyP50: quantile(sorted(latencies), 0.5),
        latencyP99: quantile(sorted(latencies), 0.99),
      },
      stepRuns,
      recomputes: metricValue(after, "flexcare_recomputes_total") - recomputesBefore,
      stepRunsPerAnsweredWrite: stepRuns / Math.max(1, writes.answeredOk),
      stepRunsPerNewWrite: stepRuns / Math.max(1, writes.answeredBatches),
      stepRunsPerStoredWrite: stepRuns / Math.max(1, storedWrites),
      freshOkAfterMs: firstOk === undefined ? Number.POSITIVE_INFINITY : firstOk.at + firstOk.ms,
      freshLatencies: fresh.map((f) => Math.round(f.ms)),
      drainedAfterMs,
      connections: {
        slowClosed: slowClosed.length,
        slowGot408: slowResults.filter((s) => s.got408).length,
        slowClosedAfterMs: Math.max(0, ...slowResults.map((s) => s.closedMs)),
        idleClosed: idleResults.filter((ms) => ms < (o.seconds + o.after) * 1000).length,
        idleClosedAfterMs: Math.max(0, ...idleResults),
      },
      data: {
        stays: stays.length,
        acknowledged: ackTotal,
        sentEvents: sentTotal,
        stored,
        inconsistent,
      },
      log,
    };
  } finally {
    for (const conn of sockets) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    try {
      server.kill("SIGINT");
    } catch { /* already gone */ }
    await server.status;
    await logsDone.catch(() => {});
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
}

/** The targets of the liveness issue; the failed ones, empty when all hold. */
export function chaosFailures(r: ChaosResult): string[] {
  const failures: string[] = [];
  if (r.healthz.failed > 0) failures.push(`${r.healthz.failed} /healthz probes failed`);
  if (!(r.healthz.p99 <= 100)) failures.push(`/healthz p99 ${r.healthz.p99.toFixed(1)} ms > 100`);
  if (!(r.freshOkAfterMs <= 5000)) {
    failures.push(
      `fresh write answered within 1 s only ${r.freshOkAfterMs.toFixed(0)} ms after the load`,
    );
  }
  if (!(r.stepRunsPerAnsweredWrite <= 2)) {
    failures.push(`${r.stepRunsPerAnsweredWrite.toFixed(2)} step runs per answered write > 2`);
  }
  if (r.data.inconsistent.length > 0) failures.push(`stored data: ${r.data.inconsistent[0]}`);
  if (r.writes.errors > 0) failures.push(`${r.writes.errors} writes answered with an error`);
  if (r.log.error > 0) failures.push(`${r.log.error} errors logged`);
  return failures;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: DEFAULT_OPTIONS.model },
      backend: { type: "string", default: DEFAULT_OPTIONS.backend },
      clients: { type: "string", default: String(DEFAULT_OPTIONS.clients) },
      seconds: { type: "string", default: String(DEFAULT_OPTIONS.seconds) },
      "abort-every": { type: "string", default: String(DEFAULT_OPTIONS.abortEvery) },
      "abort-ms": { type: "string", default: String(DEFAULT_OPTIONS.abortMs) },
      slow: { type: "string", default: String(DEFAULT_OPTIONS.slow) },
      idle: { type: "string", default: String(DEFAULT_OPTIONS.idle) },
      sse: { type: "string", default: String(DEFAULT_OPTIONS.sse) },
      after: { type: "string", default: String(DEFAULT_OPTIONS.after) },
      "no-write": { type: "boolean" },
      check: { type: "boolean" },
    },
  });
  const positive = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || n > 10_000) {
      console.error(`--${name} must be a number in (0, 10000], got ${JSON.stringify(text)}`);
      Deno.exit(2);
    }
    return n;
  };
  const options: ChaosOptions = {
    ...DEFAULT_OPTIONS,
    model: values.model!,
    backend: values.backend!,
    clients: Math.round(positive("clients", values.clients!)),
    seconds: positive("seconds", values.seconds!),
    abortEvery: Math.round(positive("abort-every", values["abort-every"]!)),
    abortMs: positive("abort-ms", values["abort-ms"]!),
    slow: Math.round(Number(values.slow)),
    idle: Math.round(Number(values.idle)),
    sse: Math.round(Number(values.sse)),
    after: positive("after", values.after!),
  };
  const r = await runChaos(options);
  const failures = chaosFailures(r);
  const f1 = (x: number) => x.toFixed(1);
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    "",
    `## Hostile traffic (liveness), backend ${r.backend} (${
      new Date().toISOString().slice(0, 10)
    })`,
    "",
    `- machine: ${cpu}, ${os.cpus().length} cores, ${
      (os.totalmem() / 2 ** 30).toFixed(0)
    } GiB, ${Deno.build.os}; Deno ${Deno.version.deno}`,
    `- command: \`deno run -A bench/chaos.ts --backend ${options.backend} --clients ${options.clients} --seconds ${options.seconds} --abort-every ${options.abortEvery} --abort-ms ${options.abortMs} --slow ${options.slow} --idle ${options.idle} --sse ${options.sse}\``,
    `- load: ${options.clients} feeds in store-time order (late charting), every ${options.abortEvery}th aborting each request after ${options.abortMs} ms, retries with the same Idempotency-Key and event ids, ${options.slow} slow bodies, ${options.idle} idle or half-sent heads, ${options.sse} SSE subscribers that never read; server \`flexcare serve\` child, header/body timeouts ${options.headerTimeout} s / ${options.bodyTimeout} s, log level info`,
    "",
    "| /healthz probes | failed | p50 / p99 / max ms | p99 during / after load ms | /metrics p99 ms | /readyz p99 ms |",
    "|---|---|---|---|---|---|",
    `| ${r.healthz.probes} | ${r.healthz.failed} | ${f1(r.healthz.p50)} / ${f1(r.healthz.p99)} / ${
      f1(r.healthz.max)
    } | ${f1(r.healthz.duringP99)} / ${f1(r.healthz.afterP99)} | ${f1(r.metricsP99)} | ${
      f1(r.readyzP99)
    } |`,
    "",
    "| writes sent | answered: all / 200 / new | aborted by client (dropped unstored) | refused 503 | errors | write p50 / p99 ms | step runs | recomputes | step runs per answered (200) / new / stored write | fresh write < 1 s after load | idle after load |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    `| ${r.writes.sent} | ${r.writes.answered} / ${r.writes.answeredOk} / ${r.writes.answeredBatches} | ${r.writes.aborted} (${r.writes.abandoned}) | ${r.writes.refused} | ${r.writes.errors} | ${
      f1(r.writes.latencyP50)
    } / ${f1(r.writes.latencyP99)} | ${r.stepRuns} | ${r.recomputes} | ${
      r.stepRunsPerAnsweredWrite.toFixed(2)
    } / ${r.stepRunsPerNewWrite.toFixed(2)} / ${r.stepRunsPerStoredWrite.toFixed(2)} | ${
      (r.freshOkAfterMs / 1000).toFixed(2)
    } s | ${(r.drainedAfterMs / 1000).toFixed(1)} s |`,
    "",
    `- connections: ${r.connections.slowClosed}/${options.slow} slow bodies closed (${r.connections.slowGot408} with 408) by ${
      (r.connections.slowClosedAfterMs / 1000).toFixed(1)
    } s; ${r.connections.idleClosed}/${options.idle} idle or half-sent heads closed by ${
      (r.connections.idleClosedAfterMs / 1000).toFixed(1)
    } s`,
    `- data: ${r.data.stored} observations stored for ${r.data.acknowledged} acknowledged and ${r.data.sentEvents} sent distinct events; ${r.data.inconsistent.length} stays inconsistent`,
    `- server log: ${r.log.lines} lines, ${r.log.warn} warnings, ${r.log.error} errors`,
    `- targets: ${failures.length === 0 ? "all met" : failures.join("; ")}`,
  ];
  console.log(lines.join("\n"));
  if (!values["no-write"]) await appendResults(lines);
  if (values.check && failures.length > 0) Deno.exit(1);
}
