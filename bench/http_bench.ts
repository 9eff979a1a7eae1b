/**
 * HTTP throughput of the service with many concurrent stays on loopback. Starts `flexcare
 * serve` as a child process (its own event loop, as in production), then N clients each admit a
 * stay, send its note at hour 0 and one JSON batch of 8 vitals per hour; every batch completes
 * an hour, so each answers with a step (DEC + LOS). Bounded by `--hours` per stay and
 * `--seconds` in all. Reports requests/s, predictions/s, request latency p50/p99, and the server's
 * resident memory; appends a section to `bench/RESULTS.md`.
 *
 *   deno run -A bench/http_bench.ts [--model models/default] [--stays 50] [--hours 24]
 *                                   [--seconds 120] [--backend wasm] [--no-write]
 *
 * @module
 */
import { parseArgs } from "node:util";
import os from "node:os";
import { appendResults, freePort, quantile, waitReady } from "./results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "models/default" },
    stays: { type: "string", default: "50" },
    hours: { type: "string", default: "24" },
    seconds: { type: "string", default: "120" },
    backend: { type: "string", default: "wasm" },
    "no-write": { type: "boolean" },
  },
});
const stays = Number(values.stays);
const hours = Number(values.hours);
const budgetMs = Number(values.seconds) * 1000;

function rssMb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

const port = freePort();
const data = await Deno.makeTempDir({ prefix: "flexcare-http-bench-" });
const root = new URL("../", import.meta.url).pathname;
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    `${root}src/cli/main.ts`,
    "serve",
    "--model",
    values.model!,
    "--port",
    String(port),
    "--data",
    data,
    "--backend",
    values.backend!,
    "--rate-limit",
    "0",
    "--log-level",
    "warn",
  ],
  stdout: "null",
  stderr: "inherit",
}).spawn();
const url = `http://127.0.0.1:${port}`;
const latencies: number[] = [];
let requests = 0;
let predictions = 0;
let failures = 0;
let elapsed = 0;
let rssIdle = Number.NaN;
let rssEnd = Number.NaN;
try {
  await waitReady(url);
  rssIdle = rssMb(server.pid);
  const headers = { "content-type": "application/json" };
  const call = async (path: string, body: unknown) => {
    const t = performance.now();
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
    const json = await res.json();
    latencies.push(performance.now() - t);
    requests++;
    if (!res.ok) failures++;
    predictions += json.predictions?.length ?? 0;
  };
  const started = performance.now();
  const deadline = started + budgetMs;
  await Promise.all(Array.from({ length: stays }, async (_, s) => {
    const id = `bench-${s}`;
    await call("/v1/stays", { stayId: id, admittedAt: "2024-01-01T00:00:00Z" });
    await call(`/v1/stays/${id}/notes`, {
      text:
        "Past Medical History: hypertension, type 2 diabetes, COPD on home oxygen. Social History: none",
      time: 0,
    });
    for (let h = 1; h <= hours && performance.now() < deadline; h++) {
      const t = h - 0.5;
      const v = (base: number, spread: number) => base + spread * Math.sin(h + s);
      await call(`/v1/stays/${id}/observations`, {
        observations: [
          { time: t, channel: "Heart Rate", value: v(88, 12) },
          { time: t, channel: "Respiratory rate", value: v(19, 4) },
          { time: t, channel: "Oxygen saturation", value: v(95, 3) },
          { time: t, channel: "Systolic blood pressure", value: v(118, 15) },
          { time: t, channel: "Diastolic blood pressure", value: v(62, 8) },
          { time: t, channel: "Mean blood pressure", value: v(80, 9) },
          { time: t, channel: "Temperature", value: v(37, 0.6) },
          { time: t, channel: "Glascow coma scale total", value: 15 },
        ],
      });
    }
  }));
  elapsed = performance.now() - started;
  rssEnd = rssMb(server.pid);
} finally {
  try {
    server.kill("SIGINT");
  } catch { /* already gone */ }
  await server.status;
  await Deno.remove(data, { recursive: true }).catch(() => {});
}

latencies.sort((a, b) => a - b);
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const lines = [
  "",
  `## HTTP throughput, ${stays} concurrent stays (${new Date().toISOString().slice(0, 10)})`,
  "",
  `- machine: ${cpu}, ${os.cpus().length} cores, ${
    (os.totalmem() / 2 ** 30).toFixed(0)
  } GiB, ${Deno.build.os}; Deno ${Deno.version.deno}`,
  `- command: \`deno run -A bench/http_bench.ts --model ${values.model} --stays ${stays} --hours ${hours} --seconds ${values.seconds} --backend ${values.backend}\``,
  `- server: \`flexcare serve\` child process on loopback, backend ${values.backend}, rate limit off, SQLite log synchronous=full; clients in one process`,
  `- workload per stay: admit, a note at hour 0, then one JSON batch of 8 vitals per hour (each completes an hour: one DEC + LOS step)`,
  "",
  "| requests | failed | wall s | requests/s | predictions/s | latency p50 ms | latency p99 ms | server RSS idle / end MB |",
  "|---|---|---|---|---|---|---|---|",
  `| ${requests} | ${failures} | ${(elapsed / 1000).toFixed(1)} | ${
    (requests / (elapsed / 1000)).toFixed(1)
  } | ${(predictions / (elapsed / 1000)).toFixed(1)} | ${quantile(latencies, 0.5).toFixed(1)} | ${
    quantile(latencies, 0.99).toFixed(1)
  } | ${rssIdle.toFixed(0)} / ${rssEnd.toFixed(0)} |`,
];
console.log(lines.join("\n"));
if (!values["no-write"]) {
  await appendResults(lines);
}
