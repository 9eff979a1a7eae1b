/**
 * `flexcare demo`: replays one ICU stay against a running server at accelerated speed and
 * prints the predictions as they stream back (Server-Sent Events).
 *
 * ```
 * deno task demo [--url http://127.0.0.1:8787] [--stay STAY_ID] [--speed 3600]
 *                [--source synth|mimic-demo] [--hours 48] [--seed 7]
 * ```
 *
 * - `synth` (default): a small synthetic cohort is generated on the fly (no real patients) and
 *   the stay with an image and the longest episode is replayed (or `--stay`).
 * - `mimic-demo`: a stay extracted from `../shared/data/mimic-iii-demo` (the openly available
 *   MIMIC-III demo; extracted once into `.flexcare/demo-mimic/`).
 *
 * The stay is admitted under a fresh id; its past medical history note (when there is one) is
 * sent at hour 0, observations hour by hour (`--speed` stay-seconds per wall-second: 3600 plays
 * an hour per second), its chest X-ray at the middle of the replayed window, and the stay is
 * discharged at the end. `FLEXCARE_TOKEN` (or the first of `FLEXCARE_TOKENS`) is sent as the
 * bearer token when set.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseCsv } from "../data/csv.ts";
import { writeSyntheticDataset } from "../data/synth/write_dataset.ts";
import { parseEpisodeCsv } from "../features/episode.ts";
import type { Observation } from "../features/observation.ts";
import type { StayPrediction } from "../session/types.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag } from "./flags.ts";

/** A stay to replay. */
export interface DemoStay {
  readonly stayId: string;
  readonly observations: Observation[];
  readonly image: { bytes: Uint8Array; mediaType: string } | null;
  readonly note: string | null;
}

const MIMIC_DEMO = new URL("../../../shared/data/mimic-iii-demo", import.meta.url).pathname;

/** Reads the stays of a dataset in the reference layout and picks one. */
export async function pickStay(dataDir: string, stayId?: string): Promise<DemoStay> {
  const stays = new Map<string, { episode: string; dicom: string; hours: number }>();
  for (const task of ["decompensation", "length-of-stay", "in-hospital-mortality"]) {
    for (const split of ["train", "val", "test"]) {
      const file = join(dataDir, task, `${split}_multimodal_listfile.csv`);
      if (!existsSync(file)) continue;
      const [_header, ...rows] = parseCsv(await Deno.readTextFile(file), { source: file });
      for (const row of rows) {
        const [, stay, episode, time, dicom] = row.fields.map((f) => f.trim());
        if (!stay || !episode) continue;
        const prev = stays.get(stay);
        stays.set(stay, {
          episode,
          dicom: prev?.dicom || dicom || "",
          hours: Math.max(prev?.hours ?? 0, Number(time) || 0),
        });
      }
    }
  }
  if (stays.size === 0) throw new Error(`No stays found in ${dataDir}`);
  let chosen: string;
  if (stayId !== undefined) {
    if (!stays.has(stayId)) {
      throw new UsageError(
        `--stay ${JSON.stringify(stayId)} is not in the dataset; some stays: ${
          [...stays.keys()].slice(0, 10).join(", ")
        }`,
      );
    }
    chosen = stayId;
  } else {
    chosen = [...stays].sort((a, b) =>
      Number(b[1].dicom !== "") - Number(a[1].dicom !== "") || b[1].hours - a[1].hours
    )[0]![0];
  }
  const s = stays.get(chosen)!;
  const episodePath = join(dataDir, "ehr", s.episode);
  const observations = parseEpisodeCsv(await Deno.readTextFile(episodePath), {
    source: episodePath,
  });
  const imagePath = join(dataDir, "cxr", "resized", `${s.dicom}.jpg`);
  const notePath = join(dataDir, "notes", `${chosen}.txt`);
  return {
    stayId: chosen,
    observations,
    image: s.dicom !== "" && existsSync(imagePath)
      ? { bytes: await Deno.readFile(imagePath), mediaType: "image/jpeg" }
      : null,
    note: existsSync(notePath) ? await Deno.readTextFile(notePath) : null,
  };
}

/** One printed line for a prediction. */
export function formatPrediction(p: StayPrediction): string {
  const mods = `${p.modalities.timeseries ? "T" : "-"}${p.modalities.image ? "I" : "-"}${
    p.modalities.note ? "N" : "-"
  }`;
  const top = Object.entries(p.fusionWeights).sort((a, b) => b[1] - a[1])[0];
  const weight = top === undefined ? "" : `  fusion ${top[0]}=${top[1].toFixed(2)}`;
  let value: string;
  if (p.probability !== undefined) {
    value = `p=${p.probability.toFixed(3)}${p.news2 === undefined ? "" : `  NEWS2=${p.news2}`}`;
  } else if (p.expectedRemainingDays !== undefined) {
    value = `expected remaining ${p.expectedRemainingDays.toFixed(1)} d`;
  } else {
    value = JSON.stringify(p.distribution ?? p.probabilities);
  }
  return `hour ${String(p.hours).padStart(4)}  #${String(p.seq).padEnd(4)} ${
    p.task.toUpperCase().padEnd(4)
  } ${value.padEnd(32)} [${mods}]${weight}`;
}

async function check(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text}`);
  return text === "" ? null : JSON.parse(text);
}

async function waitReady(url: string, headers: HeadersInit, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/readyz`, { headers });
      await res.body?.cancel();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`The server at ${url} is not ready (${last}); start it with \`deno task serve\``);
}

/** Follows the SSE stream and prints every prediction; resolves when aborted. */
async function follow(
  url: string,
  headers: HeadersInit,
  signal: AbortSignal,
  onReady: () => void,
  print: (line: string) => void,
): Promise<number> {
  const res = await fetch(url, { headers, signal });
  if (!res.ok) throw new Error(`stream: HTTP ${res.status} ${await res.text()}`);
  let count = 0;
  let buffer = "";
  const seen = new Set<string>();
  try {
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))
          .join("\n");
        if (event === "ready") onReady();
        if (event === "prediction") {
          count++;
          const p = JSON.parse(data) as StayPrediction;
          const key = `${p.task}@${p.hours}`;
          // Late data recomputes an hour: the newer prediction replaces the earlier one.
          print(formatPrediction(p) + (seen.has(key) ? "  (update)" : ""));
          seen.add(key);
        }
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  return count;
}

/** Options of {@linkcode replay}. */
export interface ReplayOptions {
  url: string;
  stay: DemoStay;
  /** Stay-seconds per wall-second. */
  speed: number;
  /** Hours of the stay to replay. */
  hours: number;
  token?: string;
  print?: (line: string) => void;
}

/** Replays a stay against a server; returns the number of predictions streamed back. */
export async function replay(options: ReplayOptions): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const auth: Record<string, string> = options.token === undefined
    ? {}
    : { authorization: `Bearer ${options.token}` };
  const json = { ...auth, "content-type": "application/json" };
  const url = options.url.replace(/\/+$/, "");
  await waitReady(url, auth, 120_000);
  const id = `demo-${options.stay.stayId}-${crypto.randomUUID().slice(0, 8)}`;
  const admittedAt = "2024-01-01T00:00:00Z";
  await check(
    await fetch(`${url}/v1/stays`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ stayId: id, admittedAt }),
    }),
    "admit",
  );
  const observations = options.stay.observations.filter((o) => o.hours <= options.hours);
  const last = Math.min(options.hours, Math.ceil(Math.max(1, ...observations.map((o) => o.hours))));
  print(
    `Replaying stay ${options.stay.stayId} as ${id}: ${observations.length} observations over ${last} h${
      options.stay.image ? ", 1 chest X-ray" : ""
    }${options.stay.note ? ", 1 note" : ""}, at ${options.speed}x`,
  );
  const controller = new AbortController();
  const { promise: subscribed, resolve } = Promise.withResolvers<void>();
  const streamed = follow(
    `${url}/v1/stays/${encodeURIComponent(id)}/stream`,
    auth,
    controller.signal,
    resolve,
    print,
  );
  await Promise.race([subscribed, streamed]);
  const hourMs = 3_600_000 / options.speed;
  const started = performance.now();
  const imageAt = Math.floor(last / 2);
  if (options.stay.note !== null) {
    await check(
      await fetch(`${url}/v1/stays/${encodeURIComponent(id)}/notes`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ text: options.stay.note, time: 0 }),
      }),
      "note",
    );
  }
  for (let hour = 0; hour <= last; hour++) {
    const batch = observations.filter((o) => o.hours > hour - 1 && o.hours <= hour)
      .map((o) => ({ time: o.hours, channel: o.channel, value: o.value }));
    if (batch.length > 0) {
      await check(
        await fetch(`${url}/v1/stays/${encodeURIComponent(id)}/observations`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ observations: batch }),
        }),
        `observations of hour ${hour}`,
      );
    }
    if (options.stay.image !== null && hour === imageAt) {
      await check(
        await fetch(`${url}/v1/stays/${encodeURIComponent(id)}/images?time=${hour}`, {
          method: "POST",
          headers: { ...auth, "content-type": options.stay.image.mediaType },
          body: options.stay.image.bytes as Uint8Array<ArrayBuffer>,
        }),
        "image",
      );
    }
    const wait = started + (hour + 1) * hourMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await check(
    await fetch(`${url}/v1/stays/${encodeURIComponent(id)}/discharge`, {
      method: "POST",
      headers: auth,
    }),
    "discharge",
  );
  await new Promise((r) => setTimeout(r, 300));
  controller.abort();
  const count = await streamed;
  print(`Done: ${count} predictions streamed for ${id} (discharged).`);
  return count;
}

async function datasetFor(source: string, seed: number): Promise<string> {
  if (source === "synth") {
    const dir = await Deno.makeTempDir({ prefix: "flexcare-demo-" });
    await writeSyntheticDataset({ outDir: dir, stays: 12, seed });
    return dir;
  }
  if (!existsSync(MIMIC_DEMO)) {
    throw new UsageError(`--source mimic-demo needs ${MIMIC_DEMO}; use --source synth`);
  }
  const dir = join(".flexcare", "demo-mimic");
  if (!existsSync(join(dir, "decompensation"))) {
    console.error(`Extracting the MIMIC-III demo into ${dir} (once)...`);
    const { extractMimic } = await import("../data/extract/mimic.ts");
    await extractMimic({ inDir: MIMIC_DEMO, outDir: dir, progress: false });
  }
  return dir;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: "string" },
      stay: { type: "string" },
      speed: { type: "string" },
      source: { type: "string" },
      hours: { type: "string" },
      seed: { type: "string" },
    },
    strict: true,
  });
  const speed = Number(values.speed ?? 3600);
  if (!Number.isFinite(speed) || speed <= 0) throw new UsageError("--speed must be > 0");
  const hours = Number(values.hours ?? 48);
  if (!Number.isFinite(hours) || hours < 1) throw new UsageError("--hours must be >= 1");
  const source = values.source ?? "synth";
  if (source !== "synth" && source !== "mimic-demo") {
    throw new UsageError(`--source must be synth or mimic-demo, got ${JSON.stringify(source)}`);
  }
  const seed = integerFlag("seed", values.seed) ?? 7;
  const dir = await datasetFor(source, seed);
  try {
    const stay = await pickStay(dir, values.stay);
    const token = Deno.env.get("FLEXCARE_TOKEN") ??
      Deno.env.get("FLEXCARE_TOKENS")?.split(",")[0]?.trim();
    await replay({
      url: values.url ?? "http://127.0.0.1:8787",
      stay,
      speed,
      hours,
      ...(token ? { token } : {}),
    });
  } finally {
    if (source === "synth") await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return 0;
}
