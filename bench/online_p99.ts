/**
 * Serving latency with the online learner busy vs idle, in one run: two `serve` children on the
 * same model and the same workload, one under a change control plan that locks every head (the
 * learner records and labels, never trains), one whose plan retrains after every 200 labels
 * (its Worker trains and evaluates candidates throughout). Each is first filled with real
 * PhysioNet 2012 stays (half with outcomes); then, while a second client posts the outcomes of
 * the other half (each labels about 90 samples), the measured client writes hourly
 * observations to 16 stays, one at a time, each completing an hour (one model step). Reported:
 * p50/p99 of those writes, learner jobs run during the window, and the ratio of p99s.
 *
 * ```sh
 * deno run -A bench/online_p99.ts [--stays 120] [--writes 1500] [--model models/default] [--backend native]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { appendResults, freePort, quantile, waitReady } from "./results.ts";
import { readPhysionetStays, streamStays } from "../src/cli/replay.ts";

const root = new URL("../", import.meta.url).pathname;
const SET_A = `${root}../shared/data/physionet-2012/set-a`;

interface Phase {
  readonly label: string;
  readonly p50: number;
  readonly p99: number;
  readonly writes: number;
  readonly jobs: number;
  readonly outcomes: number;
}

function plan(update: "locked" | "automatic"): Record<string, unknown> {
  const head = (metric: string) => ({
    update,
    metric,
    retrainEvery: 200,
    minEvaluationSamples: 200,
    minEvaluationStays: 5,
    referenceSamples: 200,
    labelWindow: 40000,
    resamples: 500,
  });
  return {
    format: "flexcare-change-control",
    format_version: 1,
    heads: { ihm: head("auroc"), dec: head("auroc"), los: head("macro_f1") },
  };
}

async function jobs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^flexcare_online_jobs_total (\d+)/m.exec(text)?.[1] ?? "0");
}

async function phase(
  label: string,
  update: "locked" | "automatic",
  options: { stays: number; writes: number; model: string; backend: string },
): Promise<Phase> {
  const tmp = await Deno.makeTempDir({ prefix: "flexcare-online-bench-" });
  const planPath = `${tmp}/plan.json`;
  await Deno.writeTextFile(planPath, JSON.stringify(plan(update)));
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}src/cli/main.ts`,
      "serve",
      "--model",
      options.model,
      "--port",
      String(port),
      "--data",
      `${tmp}/data`,
      "--backend",
      options.backend,
      "--plan",
      planPath,
      "--rate-limit",
      "0",
      "--log-level",
      "warn",
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    await waitReady(url);
    const all = await readPhysionetStays(SET_A, { limit: 2 * options.stays, prefix: "b" });
    const stream = (stays: typeof all, outcomes: boolean) =>
      streamStays({
        url,
        stays,
        outcomes,
        speed: Infinity,
        admitEveryMinutes: 30,
        concurrency: 8,
        start: "2012-01-01T00:00:00Z",
      });
    await stream(all.slice(0, options.stays), true);
    const pending = all.slice(options.stays);
    await stream(pending, false);
    // Measured: hourly observation writes, one at a time, each completing an hour.
    const json = { "content-type": "application/json" };
    const ids = Array.from({ length: 16 }, (_, i) => `m${i}`);
    for (const stayId of ids) {
      await (await fetch(`${url}/v1/stays`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ stayId, admittedAt: "2012-06-01T00:00:00Z" }),
      })).body?.cancel();
    }
    const jobsBefore = await jobs(url);
    let stop = false, outcomes = 0;
    const background = (async () => {
      for (const s of pending) {
        if (stop) break;
        const res = await fetch(`${url}/v1/stays/${s.id}/outcomes`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ eventId: `${s.id}:o`, ...s.outcome }),
        });
        await res.body?.cancel();
        outcomes++;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const latencies: number[] = [];
    for (let i = 0; i < options.writes; i++) {
      const stayId = ids[i % ids.length]!;
      const hour = Math.floor(i / ids.length) + 0.5;
      const t = performance.now();
      const res = await fetch(`${url}/v1/stays/${stayId}/observations`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({
          observations: [
            { time: hour, channel: "Heart Rate", value: 80 + (i % 20) },
            { time: hour, channel: "Mean blood pressure", value: 70 + (i % 15) },
          ],
        }),
      });
      await res.body?.cancel();
      latencies.push(performance.now() - t);
      if (!res.ok) throw new Error(`write ${i}: ${res.status}`);
    }
    stop = true;
    await background;
    const ran = (await jobs(url)) - jobsBefore;
    latencies.sort((a, b) => a - b);
    return {
      label,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      writes: latencies.length,
      jobs: ran,
      outcomes,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      stays: { type: "string" },
      writes: { type: "string" },
      model: { type: "string" },
      backend: { type: "string" },
    },
  });
  const options = {
    stays: Number(values.stays ?? 120),
    writes: Number(values.writes ?? 1500),
    model: values.model ?? `${root}models/default`,
    backend: values.backend ?? "native",
  };
  const idle = await phase("learner idle (plan locks every head)", "locked", options);
  const busy = await phase("learner busy (retrain every 200 labels)", "automatic", options);
  const lines = [
    "",
    `## Online learner: serving latency busy vs idle (${new Date().toISOString().slice(0, 10)})`,
    "",
    `Machine: ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores; ` +
    `\`deno run -A bench/online_p99.ts --stays ${options.stays} --writes ${options.writes} ` +
    `--backend ${options.backend} --model ${options.model}\` (real PhysioNet 2012 set-a stays for ` +
    `the fill).`,
    "",
    "| phase | writes | p50 ms | p99 ms | learner jobs in the window | outcomes posted in the window |",
    "|---|---|---|---|---|---|",
    ...[idle, busy].map((p) =>
      `| ${p.label} | ${p.writes} | ${p.p50.toFixed(2)} | ${
        p.p99.toFixed(2)
      } | ${p.jobs} | ${p.outcomes} |`
    ),
    "",
    `p99 busy / idle: ${(busy.p99 / idle.p99).toFixed(3)}; p50 busy / idle: ${
      (busy.p50 / idle.p50).toFixed(3)
    }.`,
  ];
  console.log(lines.join("\n"));
  if (busy.jobs === 0) throw new Error("the learner ran no job in the busy window");
  await appendResults(lines);
}
