/**
 * The prequential report of a replay: from the service's evaluation log (every newly labelled
 * sample scored by the frozen base head and by the head that served it, before either trained
 * on it) and its change log, the metric of the frozen model and of the online heads over the
 * stream, over its second half (with a paired stay-level bootstrap interval of the
 * difference), and the promotions; as JSON and as an SVG plot.
 *
 * @module
 */
import type { TaskKind } from "../data/tasks.ts";
import { METRICS_BY_KIND } from "../finetune/task_metrics.ts";
import { type CurvePanel, learningCurveSvg } from "../finetune/learning_curve_svg.ts";
import { pairedBootstrap, planMetric } from "./shadow.ts";
import type { ChangeRow, EvaluationRow } from "./store.ts";

/** One task's part of the report. */
export interface TaskReport {
  readonly task: string;
  readonly metric: string;
  readonly evaluations: number;
  readonly stays: number;
  /** The whole stream: frozen base head vs the heads that served. */
  readonly overall: { readonly frozen: number; readonly online: number };
  /** The second half of the evaluations, with the paired bootstrap of online - frozen. */
  readonly secondHalf: {
    readonly evaluations: number;
    readonly stays: number;
    readonly frozen: number;
    readonly online: number;
    readonly difference: number;
    readonly lower: number;
    readonly upper: number;
    readonly confidence: number;
  };
  /** The metric in consecutive chunks of the stream (chunk index from 1). */
  readonly curve: readonly {
    readonly chunk: number;
    readonly fromSeq: number;
    readonly toSeq: number;
    readonly frozen: number;
    readonly online: number;
  }[];
  /** Promotions (automatic or by a person) and rollbacks, where they fell in the stream. */
  readonly changes: readonly {
    readonly action: string;
    readonly version: number | null;
    readonly actor: string;
    readonly at: string;
    /** Fractional chunk position of the first evaluation the new head served (null: none). */
    readonly chunk: number | null;
  }[];
  readonly candidatesTrained: number;
  readonly refused: number;
}

/** Options of {@linkcode replayReport}. */
export interface ReportOptions {
  /** @default {10} */
  readonly chunks?: number;
  /** @default {0.95} */
  readonly confidence?: number;
  /** @default {1000} */
  readonly resamples?: number;
  /** Metric per task (default: the kind's first, e.g. AUROC for binary). */
  readonly metrics?: Readonly<Record<string, string>>;
}

/**
 * Builds one task's report.
 *
 * @example A head promoted halfway that ranks better
 * ```ts
 * import { taskReport } from "./replay_report.ts";
 * const rows = Array.from({ length: 400 }, (_, i) => {
 *   const y = i % 3 === 0 ? 1 : 0;
 *   const good = i >= 200;
 *   return {
 *     seq: i + 1, task: "ihm", stayId: `s${i}`, hours: 48, label: [y],
 *     base: [((i * 7919) % 100) / 100], incumbent: good ? [y ? 0.7 : 0.3] : [((i * 7919) % 100) / 100],
 *     incumbentVersion: good ? 2 : 1, candidate: null, candidateVersion: null,
 *   };
 * });
 * const r = taskReport("ihm", "binary", rows, [], { chunks: 4, resamples: 200 });
 * if (!(r.secondHalf.online > r.secondHalf.frozen) || r.curve.length !== 4) throw new Error();
 * ```
 */
export function taskReport(
  task: string,
  kind: TaskKind,
  rows: readonly EvaluationRow[],
  changes: readonly ChangeRow[],
  options: ReportOptions = {},
): TaskReport {
  const metric = options.metrics?.[task] ?? METRICS_BY_KIND[kind][0];
  const confidence = options.confidence ?? 0.95;
  const score = (list: readonly EvaluationRow[], pick: (r: EvaluationRow) => readonly number[]) =>
    planMetric(kind, metric, list.map((r) => r.label), list.map(pick));
  const chunks = Math.max(1, Math.min(options.chunks ?? 10, rows.length || 1));
  const curve = [];
  for (let c = 0; c < chunks && rows.length > 0; c++) {
    const part = rows.slice(
      Math.floor(c * rows.length / chunks),
      Math.floor((c + 1) * rows.length / chunks),
    );
    if (part.length === 0) continue;
    curve.push({
      chunk: c + 1,
      fromSeq: part[0]!.seq,
      toSeq: part.at(-1)!.seq,
      frozen: score(part, (r) => r.base),
      online: score(part, (r) => r.incumbent),
    });
  }
  const half = rows.slice(Math.floor(rows.length / 2));
  const paired = pairedBootstrap(
    half.map((r) => ({ stayId: r.stayId, label: r.label, a: r.incumbent, b: r.base })),
    kind,
    metric,
    { resamples: options.resamples ?? 1000, confidence, seed: 1 },
  );
  const positionOf = (version: number | null, from: number): number | null => {
    if (version === null) return null;
    const i = rows.findIndex((r, j) => j >= from && r.incumbentVersion === version);
    return i < 0 ? null : 1 + i * chunks / rows.length;
  };
  const own = changes.filter((c) => c.task === task);
  let cursor = 0;
  const marks = own.filter((c) => c.action === "promoted" || c.action === "rollback").map((c) => {
    const chunk = positionOf(c.version, cursor);
    if (chunk !== null) cursor = Math.round((chunk - 1) * rows.length / chunks);
    return { action: c.action, version: c.version, actor: c.actor, at: c.at, chunk };
  });
  return {
    task,
    metric,
    evaluations: rows.length,
    stays: new Set(rows.map((r) => r.stayId)).size,
    overall: { frozen: score(rows, (r) => r.base), online: score(rows, (r) => r.incumbent) },
    secondHalf: {
      evaluations: half.length,
      stays: paired.stays,
      frozen: paired.b,
      online: paired.a,
      difference: paired.difference,
      lower: paired.lower,
      upper: paired.upper,
      confidence,
    },
    curve,
    changes: marks,
    candidatesTrained: own.filter((c) => c.action === "candidate").length,
    refused: own.filter((c) => c.action === "refused").length,
  };
}

/** The SVG plot of task reports: one panel per task, promotions as red lines. */
export function reportSvg(reports: readonly TaskReport[], title: string): string {
  const panels: CurvePanel[] = reports.map((r) => ({
    title: `${r.task}: ${r.metric} (prequential)`,
    xLabel: `stream position (${r.curve.length} chunks of labelled samples)`,
    markers: r.changes.flatMap((c) => c.chunk === null ? [] : [c.chunk]),
    series: [
      { name: "frozen model", color: "#7f8c8d", points: r.curve.map((p) => [p.chunk, p.frozen]) },
      { name: "online heads", color: "#2471a3", points: r.curve.map((p) => [p.chunk, p.online]) },
    ],
  }));
  return learningCurveSvg(panels, title);
}

/** Whole-number formatting of a metric for the printed summary. */
export function formatReport(r: TaskReport): string {
  const f = (v: number) => Number.isFinite(v) ? v.toFixed(3) : "n/a";
  const h = r.secondHalf;
  const promotions = r.changes.filter((c) => c.action === "promoted").length;
  return `${r.task}: ${r.evaluations} prequential samples from ${r.stays} stays; ${r.metric} ` +
    `frozen ${f(r.overall.frozen)} online ${f(r.overall.online)}; second half (${h.evaluations} ` +
    `samples, ${h.stays} stays) frozen ${f(h.frozen)} online ${f(h.online)}, difference ` +
    `${f(h.difference)} (one-sided ${Math.round(h.confidence * 100)}% bounds ${f(h.lower)}, ` +
    `${
      f(h.upper)
    }); ${r.candidatesTrained} candidates, ${promotions} promoted, ${r.refused} refused`;
}
