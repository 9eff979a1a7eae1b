/**
 * Late data on real charting: replays the MIMIC-III demo ICU stays through the in-process stay
 * service in chart-time order (A: every observation on time) and in store-time order (B: as a
 * real feed delivers them, so about one vital in six arrives more than an hour late), and checks
 * that the late-data recompute gives the same current predictions as the on-time replay.
 *
 * The events are the CHARTEVENTS rows of the model's 17 channels for the stays of the
 * extraction's cohort, mapped (`loadExtractResources`), cleaned (`cleanAndCheck`), assigned to a
 * stay and kept inside it exactly as `flexcare extract mimic` does (`event_spool.ts`). Each event
 * keeps its chart time, its store time (STORETIME, or CHARTTIME when that is empty; hours since
 * ICUSTAYS.INTIME), its channel, value and the event id `ce-<ROW_ID>`. A posts one write per
 * distinct chart time, sorted by (chart time, store time, ROW_ID); B one write per distinct store
 * time, sorted by (store time, chart time, ROW_ID). A channel charted twice at one time keeps the
 * later arrival, so A breaks chart-time ties by store time as B's arrival does: in ROW_ID order
 * (the extraction's file order) the two replays would differ by their data, not by the service
 * (the report counts those duplicates). Stays are replayed one after another, each write
 * awaited before the next, over one loaded model and a fresh service (and event log) per run.
 * B runs twice: with the library's recompute timing (`recomputeDelayMs` 0: a write's late hours
 * are recomputed right after it) and with `flexcare serve`'s (`recomputeDelayMs` 1000,
 * `recomputeWaitMs` 5000). Writes come much faster than in a real feed, so with the server's
 * timing one recompute takes far more hours of the stay at once than it would in real time, and
 * the deferred recomputes of the stays just replayed can fill the step queue (`maxQueuedSteps`):
 * a write refused as overloaded (nothing stored) is resent after 20 ms and counted.
 *
 *   deno run -A bench/late_replay.ts [--backend wasm|native] [--model models/default]
 *                                    [--mimic ../shared/data/mimic-iii-demo] [--stays N]
 *                                    [--no-write] [--check]
 *
 * Reports the store-time delays of the events replayed; per run the writes, step runs per
 * completed hour (completed hours: the distinct prediction times A published) and wall time; and
 * for each B run against A, per (stay, task, hours) current prediction (highest `seq`): the pairs
 * inside the recompute window (a stay's latest `maxStepsPerWrite` hours up to its last completed
 * hour, the only ones late data can still recompute), the largest difference of the DEC
 * probability and the LOS class probabilities there and how many exceed 1e-6; the pairs outside
 * the window that differ (late data older than the window is not recomputed, so they may); and
 * pairs present in one replay only. Only aggregate figures are printed. Appends the section to
 * `bench/RESULTS.md` unless `--no-write`. `--check` exits 1 unless every B run matches A within
 * 1e-6 inside the window (no pair missing there either) with at most 2 step runs per completed
 * hour.
 *
 * @module
 */
import { parseArgs } from "node:util";
import os from "node:os";
import { FlexCareModel } from "../src/model/flexcare_model.ts";
import { cleanAndCheck } from "../src/data/extract/clean.ts";
import type { CohortStay } from "../src/data/extract/cohort.ts";
import { CleaningLog } from "../src/data/extract/episode_sink.ts";
import { placeEvent } from "../src/data/extract/event_spool.ts";
import { readMimicCohort } from "../src/data/extract/mimic_cohort.ts";
import { locateMimicTables, parseMimicTime, scanTable } from "../src/data/extract/mimic_tables.ts";
import { loadExtractResources } from "../src/data/extract/resources.ts";
import {
  createStayService,
  type ManagedStayService,
  type StayServiceOptions,
} from "../src/session/service.ts";
import { ServiceError } from "../src/session/errors.ts";
import { completedHours } from "../src/session/stay_runtime.ts";
import { StayTimeSeries } from "../src/features/stay_time_series.ts";
import type { ObservationInput, StayPrediction, WriteResult } from "../src/session/types.ts";
import { appendResults, quantile } from "./results.ts";

const HOUR_MS = 3_600_000;
/** The service's window (its default `maxStepsPerWrite`), passed explicitly so both agree. */
const MAX_STEPS_PER_WRITE = 48;
/** Largest difference between the replays that still counts as equal. */
const TOLERANCE = 1e-6;
/** Wait before resending a write the overloaded service refused (ms). */
const OVERLOADED_RETRY_MS = 20;
/** Most step runs per completed hour that store-time order may cost. */
const MAX_STEPS_PER_HOUR = 2;

/** One charted value of a model channel. */
interface ChartEvent {
  readonly rowId: number;
  /** Hours since ICU admission. */
  readonly chart: number;
  /** Hours since ICU admission when it was stored. */
  readonly store: number;
  readonly channel: string;
  readonly value: string | number;
}

/** A stay to replay. */
interface ReplayStay {
  readonly stayId: string;
  /** INTIME as ISO with Z. */
  readonly admittedAt: string;
  readonly events: readonly ChartEvent[];
  /** The last hour its events complete. */
  readonly lastCompletedHour: number;
}

/** How a replay orders and groups a stay's events into writes. */
type Order = "chart" | "store";

/** One replay through a fresh service. */
interface ReplayRun {
  readonly name: string;
  readonly writes: number;
  /** Writes answered with `recomputing`. */
  readonly recomputingWrites: number;
  readonly stepRuns: number;
  readonly recomputes: number;
  /** Writes refused as overloaded (and resent). */
  readonly refused: number;
  readonly wallMs: number;
  /** Current prediction of each `stay \t task \t hours`. */
  readonly current: ReadonlyMap<string, StayPrediction>;
}

/** B against A. */
interface Comparison {
  readonly inWindow: number;
  readonly maxDiffInWindow: number;
  readonly overToleranceInWindow: number;
  readonly outsideWindow: number;
  readonly differingOutsideWindow: number;
  readonly maxDiffOutsideWindow: number;
  readonly onlyInA: number;
  readonly onlyInB: number;
  readonly missingInWindow: number;
  /** The largest difference inside the window, for the diagnosis (stay id, task, hours). */
  readonly worst: string | null;
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    model: { type: "string", default: "models/default" },
    mimic: {
      type: "string",
      default: decodeURIComponent(
        new URL("../../shared/data/mimic-iii-demo", import.meta.url).pathname,
      ),
    },
    stays: { type: "string" },
    "no-write": { type: "boolean" },
    check: { type: "boolean" },
  },
});
const backend = values.backend;
if (backend !== "wasm" && backend !== "native") {
  throw new TypeError(`--backend must be wasm or native, got ${JSON.stringify(backend)}`);
}
const stayLimit = values.stays === undefined ? Number.POSITIVE_INFINITY : Number(values.stays);
if (values.stays !== undefined && !(Number.isInteger(stayLimit) && stayLimit >= 1)) {
  throw new RangeError(`--stays must be a whole number >= 1, got ${JSON.stringify(values.stays)}`);
}

/** The cohort stays with chart events of the model's channels, in cohort order. */
async function loadStays(mimicDir: string, limit: number): Promise<ReplayStay[]> {
  const layout = await locateMimicTables(mimicDir);
  const charts = layout.tables.chartevents;
  if (charts === undefined) {
    throw new Error(`No CHARTEVENTS table (CHARTEVENTS.csv or .csv.gz) found in "${mimicDir}"`);
  }
  const resources = await loadExtractResources();
  const { stays } = await readMimicCohort(layout, new CleaningLog());
  const staysBySubject = new Map<string, CohortStay[]>();
  for (const s of stays) {
    staysBySubject.set(s.subjectId, [...(staysBySubject.get(s.subjectId) ?? []), s]);
  }
  const eventsByStay = new Map<string, ChartEvent[]>();
  await scanTable(
    charts,
    [
      "row_id",
      "subject_id",
      "?icustay_id|stay_id",
      "itemid",
      "charttime",
      "storetime",
      "value",
      "?valueuom",
    ],
    ([rowId, subjectId, stayId, itemid, charttime, storetime, value, unit], line) => {
      const item = resources.items.get(itemid!);
      const candidates = staysBySubject.get(subjectId!);
      if (item === undefined || candidates === undefined) return;
      const t = parseMimicTime(charttime!);
      if (Number.isNaN(t)) return;
      // The stay and time as the extraction assigns them.
      const placed = placeEvent(candidates, stayId!, t);
      if (typeof placed === "string") return;
      const { stay, hours: chart } = placed;
      const cleaned = cleanAndCheck(
        item.channel,
        { value: value!, unit: unit!, label: item.label },
        resources.ranges,
      );
      if (!cleaned.ok) return;
      const stored = storetime === "" ? t : parseMimicTime(storetime!);
      if (Number.isNaN(stored)) {
        throw new SyntaxError(`${charts}:${line}: STORETIME ${JSON.stringify(storetime)}`);
      }
      const id = Number(rowId);
      if (!Number.isInteger(id)) {
        throw new SyntaxError(`${charts}:${line}: ROW_ID ${JSON.stringify(rowId)}`);
      }
      const list = eventsByStay.get(stay.stayId) ?? [];
      list.push({
        rowId: id,
        chart,
        store: (stored - stay.intime) / HOUR_MS,
        channel: item.channel,
        value: cleaned.value,
      });
      eventsByStay.set(stay.stayId, list);
    },
  );
  const out: ReplayStay[] = [];
  for (const s of stays) {
    const events = eventsByStay.get(s.stayId);
    if (events === undefined || out.length >= limit) continue;
    out.push({
      stayId: `icu-${s.stayId}`,
      admittedAt: new Date(s.intime).toISOString(),
      events,
      lastCompletedHour: completedHours(Math.max(...events.map((e) => e.chart))),
    });
  }
  return out;
}

/** A stay's writes: events sorted for the order, one write per distinct chart or store time. */
function writesOf(events: readonly ChartEvent[], order: Order): ObservationInput[][] {
  const sorted = [...events].sort((a, b) =>
    order === "chart"
      ? a.chart - b.chart || a.store - b.store || a.rowId - b.rowId
      : a.store - b.store || a.chart - b.chart || a.rowId - b.rowId
  );
  const writes: ObservationInput[][] = [];
  let at = Number.NaN;
  for (const e of sorted) {
    const key = order === "chart" ? e.chart : e.store;
    if (key !== at) writes.push([]);
    at = key;
    writes.at(-1)!.push({
      time: e.chart,
      channel: e.channel,
      value: e.value,
      eventId: `ce-${e.rowId}`,
    });
  }
  return writes;
}

/** What same-time duplicates would do to the chart-order replay if it kept ROW_ID order. */
interface TieEffect {
  /** (channel, chart time) groups whose last value by ROW_ID and by store time differ. */
  readonly groups: number;
  readonly stays: number;
  /** Hours (1 to the last completed) whose features ROW_ID order would change. */
  readonly hours: number;
  readonly ofHours: number;
}

/**
 * A channel charted twice at one time with different values: the features keep the later
 * arrival (`StayTimeSeries`), so the last by ROW_ID (the extraction's file order) and the last by
 * store time (a feed's arrival) can disagree. Replay A therefore breaks chart-time ties by store
 * time, as B's arrival does; this counts what ROW_ID order would have changed, all events in.
 */
function tieEffect(stays: readonly ReplayStay[]): TieEffect {
  let groups = 0;
  let affectedStays = 0;
  let hours = 0;
  let ofHours = 0;
  for (const stay of stays) {
    ofHours += stay.lastCompletedHour;
    const byTime = new Map<string, ChartEvent[]>();
    for (const e of stay.events) {
      const key = `${e.channel}\t${e.chart}`;
      byTime.set(key, [...(byTime.get(key) ?? []), e]);
    }
    let conflicts = 0;
    for (const group of byTime.values()) {
      const byRow = group.reduce((x, y) => y.rowId > x.rowId ? y : x);
      const byStore = group.reduce((x, y) =>
        y.store > x.store || (y.store === x.store && y.rowId > x.rowId) ? y : x
      );
      if (byRow.value !== byStore.value) conflicts++;
    }
    if (conflicts === 0) continue;
    groups += conflicts;
    affectedStays++;
    const series = (sorted: ChartEvent[]) => {
      const s = new StayTimeSeries();
      s.add(sorted.map((e) => ({ hours: e.chart, channel: e.channel, value: e.value })));
      return s;
    };
    const rowOrder = series(
      [...stay.events].sort((a, b) => a.chart - b.chart || a.rowId - b.rowId),
    );
    const storeOrder = series(
      [...stay.events].sort((a, b) => a.chart - b.chart || a.store - b.store || a.rowId - b.rowId),
    );
    for (let h = 1; h <= stay.lastCompletedHour; h++) {
      const x = rowOrder.matrix(h).data;
      const y = storeOrder.matrix(h).data;
      if (x.some((v, i) => v !== y[i])) hours++;
    }
  }
  return { groups, stays: affectedStays, hours, ofHours };
}

/**
 * Sends one write; while the service is overloaded (503: the recomputes of earlier stays fill
 * its step queue, nothing was stored) it is resent after a short wait, as a client would.
 */
async function send(
  service: ManagedStayService,
  stayId: string,
  batch: readonly ObservationInput[],
): Promise<WriteResult> {
  while (true) {
    try {
      return await service.addObservations(stayId, batch);
    } catch (error) {
      if (!(error instanceof ServiceError && error.code === "overloaded")) throw error;
      await new Promise((resolve) => setTimeout(resolve, OVERLOADED_RETRY_MS));
    }
  }
}

/** Replays every stay through a fresh service and reads the current predictions back. */
async function replay(
  model: FlexCareModel,
  stays: readonly ReplayStay[],
  run: { name: string; order: Order; timing: Partial<StayServiceOptions> },
): Promise<ReplayRun> {
  const dataDir = await Deno.makeTempDir({ prefix: "flexcare-late-replay-" });
  const service = await createStayService({
    dataDir,
    model,
    sweepIntervalMs: 0,
    maxStepsPerWrite: MAX_STEPS_PER_WRITE,
    // Nothing here needs to survive a power loss; the log's contents are the same.
    synchronous: "normal",
    ...run.timing,
  });
  const current = new Map<string, StayPrediction>();
  let writes = 0;
  let recomputingWrites = 0;
  const started = performance.now();
  try {
    for (const stay of stays) {
      await service.admit(stay.stayId, { admittedAt: stay.admittedAt });
      for (const batch of writesOf(stay.events, run.order)) {
        const result = await send(service, stay.stayId, batch);
        writes++;
        if (result.recomputing !== undefined) recomputingWrites++;
      }
    }
    await service.idle();
    const wallMs = performance.now() - started;
    for (const stay of stays) {
      for (const p of await service.predictions(stay.stayId)) {
        const key = `${p.stayId}\t${p.task}\t${p.hours}`;
        const seen = current.get(key);
        if (seen === undefined || p.seq > seen.seq) current.set(key, p);
      }
    }
    const stats = service.stats();
    return {
      name: run.name,
      writes,
      recomputingWrites,
      stepRuns: stats.stepRuns ?? Number.NaN,
      recomputes: stats.recomputes ?? Number.NaN,
      refused: stats.refusedWrites ?? Number.NaN,
      wallMs,
      current,
    };
  } finally {
    await service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Largest difference of the DEC probability or any LOS class probability. */
function difference(a: StayPrediction, b: StayPrediction): number {
  if ((a.probability === undefined) !== (b.probability === undefined)) return Infinity;
  let diff = Math.abs((a.probability ?? 0) - (b.probability ?? 0));
  const da = a.distribution ?? [];
  const db = b.distribution ?? [];
  if (da.length !== db.length) return Infinity;
  for (let i = 0; i < da.length; i++) diff = Math.max(diff, Math.abs(da[i]! - db[i]!));
  return diff;
}

function compare(
  a: ReplayRun,
  b: ReplayRun,
  stays: readonly ReplayStay[],
): Comparison {
  const lastHour = new Map(stays.map((s) => [s.stayId, s.lastCompletedHour]));
  const inWindow = (p: StayPrediction) => p.hours > lastHour.get(p.stayId)! - MAX_STEPS_PER_WRITE;
  let compared = 0;
  let maxIn = 0;
  let overIn = 0;
  let outside = 0;
  let differingOut = 0;
  let maxOut = 0;
  let onlyInA = 0;
  let missingInWindow = 0;
  let worst: string | null = null;
  for (const [key, pa] of a.current) {
    const pb = b.current.get(key);
    if (pb === undefined) {
      onlyInA++;
      if (inWindow(pa)) missingInWindow++;
      continue;
    }
    const diff = difference(pa, pb);
    if (inWindow(pa)) {
      compared++;
      if (diff > TOLERANCE) overIn++;
      if (diff > maxIn) {
        maxIn = diff;
        worst = `stay ${pa.stayId} ${pa.task} hour ${pa.hours}`;
      }
    } else {
      outside++;
      if (diff > TOLERANCE) differingOut++;
      maxOut = Math.max(maxOut, diff);
    }
  }
  let onlyInB = 0;
  for (const [key, pb] of b.current) {
    if (a.current.has(key)) continue;
    onlyInB++;
    if (inWindow(pb)) missingInWindow++;
  }
  return {
    inWindow: compared,
    maxDiffInWindow: maxIn,
    overToleranceInWindow: overIn,
    outsideWindow: outside,
    differingOutsideWindow: differingOut,
    maxDiffOutsideWindow: maxOut,
    onlyInA,
    onlyInB,
    missingInWindow,
    worst,
  };
}

/** Distinct prediction times a run published, over all stays. */
function publishedHours(run: ReplayRun): number {
  return new Set([...run.current.values()].map((p) => `${p.stayId}\t${p.hours}`)).size;
}

const loadStarted = performance.now();
const stays = await loadStays(values.mimic!, stayLimit);
const events = stays.reduce((n, s) => n + s.events.length, 0);
const delays = stays.flatMap((s) => s.events.map((e) => e.store - e.chart)).sort((a, b) => a - b);
const share = (test: (d: number) => boolean) =>
  `${(100 * delays.filter(test).length / delays.length).toFixed(1)}%`;
const loadMs = performance.now() - loadStarted;
const ties = tieEffect(stays);

const model = await FlexCareModel.load(values.model!, { backend, offThread: true });
const runs: ReplayRun[] = [];
try {
  runs.push(await replay(model, stays, { name: "A chart order", order: "chart", timing: {} }));
  runs.push(
    await replay(model, stays, {
      name: "B store order, library timing",
      order: "store",
      timing: {},
    }),
  );
  runs.push(
    await replay(model, stays, {
      name: "B store order, serve timing",
      order: "store",
      timing: { recomputeDelayMs: 1000, recomputeWaitMs: 5000 },
    }),
  );
} finally {
  await model.close();
}
const [reference, ...late] = runs as [ReplayRun, ...ReplayRun[]];
const completed = publishedHours(reference);
const comparisons = late.map((run) => ({ run, c: compare(reference, run, stays) }));
const stepsPerHour = (run: ReplayRun) => run.stepRuns / completed;

const fixed = (x: number, digits: number) => Number.isFinite(x) ? x.toFixed(digits) : String(x);
const command = [
  "deno run -A bench/late_replay.ts",
  `--backend ${backend}`,
  `--model ${values.model}`,
  ...(values.stays === undefined ? [] : [`--stays ${values.stays}`]),
].join(" ");
const lines = [
  "",
  `## Late data replay, MIMIC-III demo, ${backend} (${new Date().toISOString().slice(0, 10)})`,
  "",
  `- machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${
    (os.totalmem() / 2 ** 30).toFixed(0)
  } GiB, ${Deno.build.os}; Deno ${Deno.version.deno}`,
  `- command: \`${command}\``,
  `- data: ${stays.length} cohort stays, ${events} chart events of the 17 channels (read and cleaned in ${
    fixed(loadMs / 1000, 1)
  } s); model ${model.name} on ${model.runtime.backend}, off thread; stays one after another, each write awaited; maxStepsPerWrite ${MAX_STEPS_PER_WRITE}; SQLite synchronous=normal`,
  `- store-time delay (store minus chart): median ${fixed(quantile(delays, 0.5), 2)} h, > 1 h ${
    share((d) => d > 1)
  }, > 2 h ${share((d) => d > 2)}, p99 ${
    fixed(quantile(delays, 0.99), 2)
  } h, stored before charted ${share((d) => d < 0)}`,
  `- same-time duplicates: ${ties.groups} (channel, chart time) groups in ${ties.stays} stays whose last value by ROW_ID and by store time differ; A breaks chart-time ties by store time (as B's arrival does), since ROW_ID order would change the features of ${ties.hours} of ${ties.ofHours} hours`,
  `- completed hours (distinct prediction times of A): ${completed}`,
  "",
  "| replay | writes | refused as overloaded (resent) | writes answered `recomputing` | recomputes | step runs | step runs / completed hour | wall s |",
  "|---|---|---|---|---|---|---|---|",
  ...runs.map((r) =>
    `| ${r.name} | ${r.writes} | ${r.refused} | ${r.recomputingWrites} | ${r.recomputes} | ${r.stepRuns} | ${
      fixed(stepsPerHour(r), 3)
    } | ${fixed(r.wallMs / 1000, 1)} |`
  ),
  "",
  "| B against A | pairs in window | max abs diff in window | > 1e-6 in window | pairs outside window | differing outside | max abs diff outside | only in A | only in B |",
  "|---|---|---|---|---|---|---|---|---|",
  ...comparisons.map(({ run, c }) =>
    `| ${run.name} | ${c.inWindow} | ${
      c.maxDiffInWindow.toExponential(2)
    } | ${c.overToleranceInWindow} | ${c.outsideWindow} | ${c.differingOutsideWindow} | ${
      c.maxDiffOutsideWindow.toExponential(2)
    } | ${c.onlyInA} | ${c.onlyInB} |`
  ),
];
console.log(lines.join("\n"));
if (!values["no-write"]) await appendResults(lines);

if (values.check) {
  const failures: string[] = [];
  for (const { run, c } of comparisons) {
    if (c.overToleranceInWindow > 0 || c.missingInWindow > 0) {
      failures.push(
        `${run.name}: ${c.overToleranceInWindow} pairs differ by more than ${TOLERANCE} and ${c.missingInWindow} are missing in the window (largest at ${c.worst})`,
      );
    }
    if (!(stepsPerHour(run) <= MAX_STEPS_PER_HOUR)) {
      failures.push(
        `${run.name}: ${
          fixed(stepsPerHour(run), 3)
        } step runs per completed hour (limit ${MAX_STEPS_PER_HOUR})`,
      );
    }
  }
  if (failures.length > 0) {
    console.error(`Check failed:\n${failures.map((f) => `- ${f}`).join("\n")}`);
    Deno.exit(1);
  }
}
