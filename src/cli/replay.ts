/**
 * `flexcare replay --data DIR --url URL [--outcomes] [--speed X] [--out DIR]`: streams a
 * PhysioNet-2012-layout dataset (`set-*` folders of records and `Outcomes-*.txt`) into a
 * running service as a hospital would: stays admitted one after another in record order
 * (`--admit-every` minutes apart, so many are in the unit at once), each hour's observations
 * posted at the end of that hour, each stay discharged when its record ends (with its outcome
 * with `--outcomes`: death and its time, the end of the stay). Events of all stays go out in
 * the order of the simulated clock, at most `--concurrency` at a time, each stay's in order;
 * `--speed X` paces them at X simulated seconds per wall second (default: as fast as the
 * service answers). Then it reads the service's prequential log and change log and prints
 * (and writes as `replay.json` + `replay.svg`) the metric of the frozen model and of the
 * online heads over the stream and over its second half, with the promotions.
 *
 * @module
 */
import type { StayStatics } from "../model/statics.ts";
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  parseOutcomes,
  PHYSIONET_HORIZON_HOURS,
  recordDescriptors,
  recordObservations,
} from "../data/import/physionet2012.ts";
import { CleaningLog } from "../data/extract/episode_sink.ts";
import { loadExtractResources } from "../data/extract/resources.ts";
import { Progress } from "../data/extract/progress.ts";
import { MAX_HOURS } from "../features/observation.ts";
import type { TaskKind } from "../data/tasks.ts";
import type { ChangeRow, EvaluationRow } from "../online/store.ts";
import { formatReport, reportSvg, type TaskReport, taskReport } from "../online/replay_report.ts";
import { integerFlag, numberFlag } from "./flags.ts";
import { UsageError } from "./usage_error.ts";

/** One stay of the dataset, ready to stream. */
export interface ReplayStay {
  readonly id: string;
  /** Observations by the hour they are posted at (the end of their hour). */
  readonly batches: ReadonlyMap<
    number,
    { time: number; channel: string; value: number | string }[]
  >;
  /** Hours since admission of the discharge (the end of the record). */
  readonly dischargeHours: number;
  readonly outcome: {
    died: boolean;
    deathTime?: number;
    dischargeTime: number;
  };
  /** The outcome was adjusted to be consistent (e.g. a death time after the stay's end). */
  readonly adjusted: string | null;
  /** Unit, age and sex from the record's descriptors, sent at admission. */
  readonly statics: StayStatics;
}

/** Reads a PhysioNet-2012-layout folder: `DIR/set-x/*.txt` with `DIR/Outcomes-x.txt`, or a set folder. */
export async function readPhysionetStays(
  dir: string,
  options: { sets?: readonly string[]; limit?: number; prefix: string },
): Promise<ReplayStay[]> {
  const { ranges } = await loadExtractResources();
  let root = dir, sets = options.sets?.map((s) => s.toLowerCase());
  const own = /^set-([a-z0-9]+)$/i.exec(basename(dir));
  if (own !== null && existsSync(join(dirname(dir), `Outcomes-${own[1]}.txt`))) {
    root = dirname(dir);
    sets = [own[1]!.toLowerCase()];
  }
  if (sets === undefined) {
    sets = [];
    for await (const e of Deno.readDir(root)) {
      const m = /^set-([a-z0-9]+)$/i.exec(e.name);
      if (e.isDirectory && m !== null && existsSync(join(root, `Outcomes-${m[1]}.txt`))) {
        sets.push(m[1]!.toLowerCase());
      }
    }
    sets.sort();
  }
  if (sets.length === 0) {
    throw new UsageError(`${dir}: no set-* folder with an Outcomes-*.txt file beside it`);
  }
  const stays: ReplayStay[] = [];
  const log = new CleaningLog();
  for (const set of sets) {
    const outcomesPath = join(root, `Outcomes-${set}.txt`);
    if (!existsSync(outcomesPath)) throw new UsageError(`Set ${set} has no ${outcomesPath}`);
    const outcomes = parseOutcomes(await Deno.readTextFile(outcomesPath), outcomesPath);
    const names: string[] = [];
    for await (const e of Deno.readDir(join(root, `set-${set}`))) {
      if (e.isFile && e.name.endsWith(".txt")) names.push(e.name);
    }
    names.sort();
    for (const name of names) {
      if (options.limit !== undefined && stays.length >= options.limit) return stays;
      const recordId = name.replace(/\.txt$/, "");
      const o = outcomes.get(recordId);
      if (o === undefined) continue;
      const path = join(root, `set-${set}`, name);
      const text = await Deno.readTextFile(path);
      const observations = recordObservations(text, { log, ranges, source: path });
      const d = recordDescriptors(text);
      const statics: StayStatics = {
        ...(d.unit === "" ? {} : { unit: d.unit }),
        ...(Number.isFinite(d.age) && d.age <= 130 ? { age: d.age } : {}),
        ...(d.sex === "F" || d.sex === "M" ? { sex: d.sex } : {}),
      };
      const batches = new Map<
        number,
        { time: number; channel: string; value: number | string }[]
      >();
      let last = 0;
      for (const obs of observations) {
        const at = Math.max(0, Math.ceil(obs.hours - 1e-6));
        let list = batches.get(at);
        if (list === undefined) batches.set(at, list = []);
        list.push({ time: obs.hours, channel: obs.channel, value: obs.value });
        last = Math.max(last, obs.hours);
      }
      // Records cover the first 48 hours of stays of at least 48 hours (as the importer).
      const dischargeHours = Math.max(PHYSIONET_HORIZON_HOURS, Math.ceil(last - 1e-6));
      const losHours = Number.isNaN(o.lengthOfStayDays)
        ? PHYSIONET_HORIZON_HOURS
        : o.lengthOfStayDays * 24;
      // A death years after discharge (PhysioNet's Survival) changes no label: not sent.
      const deathHours = Number.isNaN(o.survivalDays) || o.survivalDays * 24 > MAX_HOURS
        ? undefined
        : o.survivalDays * 24;
      let adjusted: string | null = null;
      let dischargeTime = losHours;
      let deathTime = deathHours;
      if (o.inHospitalDeath === 1) {
        if (deathTime === undefined) {
          deathTime = losHours;
          adjusted = "in-hospital death without a survival time: death at the stay's end";
        } else if (deathTime > losHours) {
          dischargeTime = deathTime;
          adjusted = "in-hospital death after the recorded length of stay: the stay ends at death";
        }
      }
      stays.push({
        statics,
        id: `${options.prefix}-${set}-${recordId}`,
        batches,
        dischargeHours,
        outcome: {
          died: o.inHospitalDeath === 1,
          ...(deathTime === undefined ? {} : { deathTime }),
          dischargeTime,
        },
        adjusted,
      });
    }
  }
  return stays;
}

/** Options of {@linkcode streamStays}. */
export interface StreamOptions {
  readonly url: string;
  readonly stays: readonly ReplayStay[];
  readonly outcomes: boolean;
  /** Simulated seconds per wall second (Infinity: as fast as the service answers). */
  readonly speed: number;
  /** Minutes between admissions. */
  readonly admitEveryMinutes: number;
  readonly concurrency: number;
  /** ISO time of the first admission. */
  readonly start: string;
  readonly token?: string;
  readonly progress?: boolean;
}

/** What the stream did. */
export interface StreamResult {
  readonly stays: number;
  readonly requests: number;
  readonly retries: number;
  /** Requests refused (4xx) by kind and status, e.g. `observations 422`. */
  readonly refused: Readonly<Record<string, number>>;
  /** The first answer of each refused kind. */
  readonly refusedExamples: Readonly<Record<string, string>>;
  readonly seconds: number;
}

type Event = {
  at: number;
  stay: number;
  kind: "admit" | "observations" | "discharge";
  hour: number;
};

/** Streams the stays into a running service (see the module). */
export async function streamStays(options: StreamOptions): Promise<StreamResult> {
  const url = options.url.replace(/\/+$/, "");
  const auth: Record<string, string> = options.token
    ? { authorization: `Bearer ${options.token}` }
    : {};
  const headers = { ...auth, "content-type": "application/json" };
  const t0 = Date.parse(options.start);
  const events: Event[] = [];
  options.stays.forEach((s, i) => {
    const offset = i * options.admitEveryMinutes / 60;
    events.push({ at: offset, stay: i, kind: "admit", hour: 0 });
    for (const hour of s.batches.keys()) {
      events.push({
        at: offset + Math.min(hour, s.dischargeHours),
        stay: i,
        kind: "observations",
        hour,
      });
    }
    events.push({
      at: offset + s.dischargeHours,
      stay: i,
      kind: "discharge",
      hour: s.dischargeHours,
    });
  });
  const order = { admit: 0, observations: 1, discharge: 2 };
  events.sort((a, b) =>
    a.at - b.at || a.stay - b.stay || order[a.kind] - order[b.kind] || a.hour - b.hour
  );
  const iso = (hours: number) => new Date(t0 + hours * 3_600_000).toISOString();
  let requests = 0, retries = 0, discharged = 0;
  const refused: Record<string, number> = {};
  const examples: Record<string, string> = {};
  const bar = new Progress("replay", options.stays.length, {
    enabled: options.progress ?? false,
    unit: "stays",
  });
  const send = async (ev: Event): Promise<void> => {
    const stay = options.stays[ev.stay]!;
    const admitAt = ev.stay * options.admitEveryMinutes / 60;
    const base = `${url}/v1/stays`;
    let path: string, body: unknown;
    if (ev.kind === "admit") {
      path = base;
      body = { stayId: stay.id, admittedAt: iso(admitAt), ...stay.statics };
    } else if (ev.kind === "observations") {
      path = `${base}/${encodeURIComponent(stay.id)}/observations`;
      body = { observations: stay.batches.get(ev.hour) };
    } else {
      path = `${base}/${encodeURIComponent(stay.id)}/discharge`;
      body = {
        at: iso(admitAt + stay.dischargeHours),
        ...(options.outcomes
          ? { outcome: { eventId: `${stay.id}:outcome`, ...stay.outcome } }
          : {}),
      };
    }
    for (let attempt = 0;; attempt++) {
      requests++;
      let res: Response;
      try {
        res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
      } catch (error) {
        if (attempt >= 5) throw new Error(`${ev.kind} of ${stay.id}: ${(error as Error).message}`);
        retries++;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      const text = await res.text();
      if (res.ok) break;
      if ((res.status === 503 || res.status === 429 || res.status === 408) && attempt < 8) {
        retries++;
        const after = Number(res.headers.get("retry-after") ?? "0.2");
        await new Promise((r) => setTimeout(r, Math.min(10, Math.max(0.05, after)) * 1000));
        continue;
      }
      if (ev.kind === "admit" && res.status === 409) {
        throw new UsageError(
          `Stay ${stay.id} is already in the service: replay into a fresh service or pass another --prefix`,
        );
      }
      if (res.status >= 500) {
        throw new Error(`${ev.kind} of ${stay.id}: ${res.status} ${text.slice(0, 300)}`);
      }
      const key = `${ev.kind} ${res.status}`;
      refused[key] = (refused[key] ?? 0) + 1;
      examples[key] ??= text.slice(0, 300);
      break;
    }
    if (ev.kind === "discharge") bar.update(++discharged);
  };
  const started = performance.now();
  const chains = new Map<number, Promise<void>>();
  const inflight = new Set<Promise<void>>();
  let failure: unknown = null;
  for (const ev of events) {
    if (failure !== null) break;
    if (Number.isFinite(options.speed)) {
      const due = started + ev.at * 3_600_000 / options.speed;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    while (inflight.size >= options.concurrency) await Promise.race(inflight);
    const prev = chains.get(ev.stay) ?? Promise.resolve();
    const p = prev.then(() => failure === null ? send(ev) : undefined);
    chains.set(ev.stay, p);
    const tracked: Promise<void> = p.catch((e) => {
      failure ??= e;
    }).finally(() => {
      inflight.delete(tracked);
      if (ev.kind === "discharge") chains.delete(ev.stay);
    });
    inflight.add(tracked);
  }
  await Promise.all(inflight);
  bar.finish();
  if (failure !== null) throw failure;
  return {
    stays: options.stays.length,
    requests,
    retries,
    refused,
    refusedExamples: examples,
    seconds: (performance.now() - started) / 1000,
  };
}

async function getJson(url: string, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Reads the service's prequential log of the given stays and builds the report per task. */
export async function replayReports(
  url: string,
  stayIds: ReadonlySet<string>,
  options: { token?: string; chunks?: number } = {},
): Promise<TaskReport[]> {
  const base = url.replace(/\/+$/, "");
  const models = await getJson(`${base}/v1/models`, options.token);
  const model = (models["models"] as Record<string, unknown>[])[0]!;
  const kinds = new Map(
    (model["tasks"] as { code: string; kind: TaskKind }[]).map((t) => [t.code, t.kind]),
  );
  const online = await getJson(`${base}/v1/online`, options.token);
  const heads = online["heads"] as { task: string }[];
  const changes = ((await getJson(`${base}/v1/online/changelog`, options.token))["changes"] ??
    []) as ChangeRow[];
  const plan = (online["plan"] as { heads: Record<string, { metric: string }> }).heads;
  const reports: TaskReport[] = [];
  for (const { task } of heads) {
    const rows: EvaluationRow[] = [];
    let after = 0;
    while (true) {
      const page = (await getJson(
        `${base}/v1/online/${task}/evaluations?after=${after}&limit=10000`,
        options.token,
      ))["evaluations"] as EvaluationRow[];
      if (page.length === 0) break;
      for (const r of page) if (stayIds.has(r.stayId)) rows.push(r);
      after = page.at(-1)!.seq;
    }
    reports.push(
      taskReport(task, kinds.get(task) ?? "binary", rows, changes, {
        ...(options.chunks === undefined ? {} : { chunks: options.chunks }),
        metrics: { [task]: plan[task]?.metric ?? "auroc" },
      }),
    );
  }
  return reports;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: "string" },
      url: { type: "string" },
      outcomes: { type: "boolean" },
      speed: { type: "string" },
      out: { type: "string" },
      sets: { type: "string" },
      limit: { type: "string" },
      prefix: { type: "string" },
      "admit-every": { type: "string" },
      concurrency: { type: "string" },
      chunks: { type: "string" },
      start: { type: "string" },
      quiet: { type: "boolean" },
    },
    strict: true,
  });
  if (values.data === undefined) throw new UsageError("--data DIR is required");
  if (!existsSync(values.data)) throw new UsageError(`--data ${values.data} does not exist`);
  const url = values.url ?? "http://127.0.0.1:8787";
  const speed = numberFlag("speed", values.speed, { above: 0 }) ?? Infinity;
  const limit = integerFlag("limit", values.limit, { min: 1 });
  const concurrency = integerFlag("concurrency", values.concurrency, { min: 1, max: 256 }) ?? 8;
  const admitEvery = numberFlag("admit-every", values["admit-every"], { min: 0 }) ?? 30;
  const chunks = integerFlag("chunks", values.chunks, { min: 1, max: 1000 }) ?? 10;
  const prefix = values.prefix ?? "p12";
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$/.test(prefix)) {
    throw new UsageError(
      "--prefix must be 1-41 letters, digits, _ or -, starting with a letter or digit",
    );
  }
  const start = values.start ?? "2012-01-01T00:00:00Z";
  if (Number.isNaN(Date.parse(start))) throw new UsageError("--start must be an ISO 8601 time");
  const token = Deno.env.get("FLEXCARE_TOKEN") ??
    Deno.env.get("FLEXCARE_TOKENS")?.split(",")[0]?.trim();
  const stays = await readPhysionetStays(values.data, {
    ...(values.sets === undefined ? {} : { sets: values.sets.split(",").map((s) => s.trim()) }),
    ...(limit === undefined ? {} : { limit }),
    prefix,
  });
  const out = values.out ??
    join(".flexcare", `replay-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  console.error(
    `Replaying ${stays.length} stays from ${values.data} into ${url}${
      values.outcomes ? " with outcomes" : " (no outcomes: the heads cannot learn)"
    }`,
  );
  const result = await streamStays({
    url,
    stays,
    outcomes: values.outcomes ?? false,
    speed,
    admitEveryMinutes: admitEvery,
    concurrency,
    start,
    ...(token ? { token } : {}),
    progress: !values.quiet,
  });
  const reports = await replayReports(url, new Set(stays.map((s) => s.id)), {
    ...(token ? { token } : {}),
    chunks,
  });
  await Deno.mkdir(out, { recursive: true });
  const adjusted = stays.filter((s) => s.adjusted !== null).length;
  const summary = {
    data: values.data,
    url,
    outcomes: values.outcomes ?? false,
    ...result,
    adjustedOutcomes: adjusted,
    tasks: reports,
  };
  await Deno.writeTextFile(join(out, "replay.json"), JSON.stringify(summary, null, 2) + "\n");
  await Deno.writeTextFile(
    join(out, "replay.svg"),
    reportSvg(reports, `Prequential metrics: ${stays.length} stays of ${basename(values.data)}`),
  );
  console.log(
    `${result.stays} stays, ${result.requests} requests in ${result.seconds.toFixed(1)} s` +
      ` (${result.retries} retries; refused: ${
        JSON.stringify(result.refused)
      }; ${adjusted} outcomes adjusted)`,
  );
  for (const [key, text] of Object.entries(result.refusedExamples)) {
    console.log(`  first ${key}: ${text}`);
  }
  for (const r of reports) console.log(formatReport(r));
  console.log(`Wrote ${join(out, "replay.json")} and ${join(out, "replay.svg")}`);
  return 0;
}
