/**
 * Writing an evaluation report: a Markdown document with the Table-3-style task table (metric,
 * value, interval, sample count, prevalence), the NEWS2 baseline, subgroup tables and links to
 * the reliability diagrams; the same content as JSON; and one SVG reliability diagram per binary
 * task with probabilities.
 *
 * @module
 */
import type { EvalReport, MetricResult, TaskReport } from "./evaluate.ts";
import type { News2Comparison } from "./news2_comparison.ts";
import { reliabilitySvg } from "./reliability_svg.ts";

/** Digits after the point of metric values in the Markdown tables. */
const DIGITS = 4;

function num(v: number | null): string {
  return v === null || !Number.isFinite(v) ? "—" : v.toFixed(DIGITS);
}

function pct(v: number | null): string {
  return v === null || !Number.isFinite(v) ? "—" : `${(v * 100).toFixed(1)}%`;
}

function interval(m: Pick<MetricResult, "lower" | "upper" | "skipped">): string {
  if (m.lower === null || m.upper === null) return "—";
  const skipped = m.skipped > 0 ? ` (${m.skipped} resamples undefined)` : "";
  return `${num(m.lower)}–${num(m.upper)}${skipped}`;
}

function prevalenceCell(t: TaskReport): string {
  if (t.prevalence !== null) return pct(t.prevalence);
  if (t.classCounts !== null && t.n > 0) {
    const [name, count] = Object.entries(t.classCounts).sort((a, b) => b[1] - a[1])[0]!;
    return `most frequent: ${name} ${pct(count / t.n)}`;
  }
  return "—";
}

function taskTable(tasks: readonly TaskReport[], level: number): string[] {
  const lines = [
    `| Task | Metric | Value | ${Math.round(level * 100)}% CI | n | Prevalence |`,
    "|---|---|---:|---|---:|---|",
  ];
  for (const t of tasks) {
    for (const m of t.metrics) {
      lines.push(
        `| ${t.title} (${t.task}) | ${m.name} | ${num(m.value)} | ${interval(m)} | ${t.n} | ${
          prevalenceCell(t)
        } |`,
      );
    }
  }
  return lines;
}

function news2Section(t: TaskReport, c: News2Comparison, level: number): string[] {
  const ci = (v: { value: number; lower: number | null; upper: number | null; skipped: number }) =>
    `${num(v.value)} (${interval(v)})`;
  const lines = [
    `### NEWS2 baseline: ${t.title} (${t.task})`,
    "",
    `${c.n} predictions with a NEWS2 value, prevalence ${pct(c.prevalence)}.`,
    "",
    `| Score | AUROC (${Math.round(level * 100)}% CI) | AUPRC (${Math.round(level * 100)}% CI) |`,
    "|---|---|---|",
    `| NEWS2 | ${ci(c.news2.auroc)} | ${ci(c.news2.auprc)} |`,
    `| Model | ${ci(c.model.auroc)} | ${ci(c.model.auprc)} |`,
    "",
    "Alert burden at the NEWS2 triggers, and the model at matched sensitivity (its highest",
    "threshold reaching at least NEWS2's sensitivity):",
    "",
    "| Trigger | NEWS2 alerts | NEWS2 sensitivity | NEWS2 PPV | Model threshold | Model alerts | Model sensitivity | Model PPV |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of c.rows) {
    lines.push(
      `| NEWS2 >= ${r.news2Threshold} | ${pct(r.news2.alertRate)} | ${pct(r.news2.sensitivity)} | ${
        pct(r.news2.ppv)
      } | ${num(r.model.threshold)} | ${pct(r.model.alertRate)} | ${pct(r.model.sensitivity)} | ${
        pct(r.model.ppv)
      } |`,
    );
  }
  return lines;
}

/**
 * File name of a task's reliability diagram inside the output folder.
 *
 * @example The diagram of a task
 * ```ts
 * import { reliabilityFileName } from "./report.ts";
 * if (reliabilityFileName("ihm") !== "reliability_ihm.svg") throw new Error();
 * ```
 */
export function reliabilityFileName(task: string): string {
  return `reliability_${task}.svg`;
}

/**
 * The report as Markdown.
 *
 * @example A one-task table
 * ```ts
 * import { evaluateRecords } from "./evaluate.ts";
 * import { checkRecord } from "./predictions.ts";
 * import { reportToMarkdown } from "./report.ts";
 * const records = [[1, 0.9], [0, 0.3], [0, 0.6], [1, 0.4]].map(([y, p], i) =>
 *   checkRecord({ task: "ihm", labels: y, probs: p }, `#${i}`)
 * );
 * const md = reportToMarkdown({ source: "example", ...evaluateRecords(records, { bootstrap: { resamples: 20 } }) });
 * if (!md.includes("| In-hospital mortality (ihm) | AUROC | 0.7500 |")) throw new Error(md);
 * ```
 */
export function reportToMarkdown(report: EvalReport): string {
  const { resamples, seed, level } = report.bootstrap;
  const lines = [
    "# FlexCare evaluation",
    "",
    `Source: ${report.source}. Intervals: ${
      Math.round(level * 100)
    }% bootstrap percentile intervals over ${resamples} resamples (seed ${seed}); resamples where a metric is undefined are skipped and counted.`,
    "",
    ...taskTable(report.tasks, level),
  ];
  const withNews2 = report.tasks.filter((t) => t.news2 !== null);
  if (withNews2.length > 0) {
    lines.push("", "## Early-warning score baseline", "");
    for (const t of withNews2) lines.push(...news2Section(t, t.news2!, level), "");
  }
  const multilabel = report.tasks.filter((t) => t.perLabelAuroc !== null);
  for (const t of multilabel) {
    lines.push(
      "",
      `## Per-label AUROC: ${t.title} (${t.task})`,
      "",
      "| Label | AUROC |",
      "|---|---:|",
    );
    for (const [name, v] of Object.entries(t.perLabelAuroc!)) lines.push(`| ${name} | ${num(v)} |`);
  }
  for (const table of report.subgroups) {
    lines.push("", `## Subgroups by ${table.column}`);
    if (table.summary.length > 0) {
      lines.push(
        "",
        `Flagged: a group whose first metric lies below the lower end of the overall ${
          Math.round(level * 100)
        }% interval.`,
        "",
        `| Task | ${table.column} | n | Positives | First metric (${
          Math.round(level * 100)
        }% CI) | ECE | Flag |`,
        "|---|---|---:|---:|---|---:|---|",
      );
      for (const r of table.summary) {
        const metric = r.undefinedBecause ??
          (r.metric === null || r.metric.value === null
            ? "n/a"
            : `${r.metric.name} ${num(r.metric.value)} (${num(r.metric.lower)}–${
              num(r.metric.upper)
            })`);
        lines.push(
          `| ${r.task} | ${r.value} | ${r.n} | ${r.positives ?? ""} | ${metric} | ${
            r.ece === null ? "" : num(r.ece)
          } | ${r.belowOverall ? "below overall" : ""} |`,
        );
      }
    }
    for (const g of table.groups) {
      lines.push("", `### ${table.column} = ${g.value} (${g.n} predictions)`, "");
      lines.push(...taskTable(g.tasks, level));
    }
  }
  const diagrams = report.tasks.filter((t) => t.reliability !== null);
  if (diagrams.length > 0) {
    lines.push("", "## Calibration", "");
    lines.push(
      "Reliability diagrams over 10 equal-width probability bins (a probability on a bin edge falls in the lower bin, as scikit-learn's `calibration_curve`); ECE is the count-weighted mean gap between observed rate and mean predicted probability.",
      "",
    );
    for (const t of diagrams) {
      lines.push(`![${t.title} reliability diagram](${reliabilityFileName(t.task)})`, "");
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The report as JSON text (undefined values as `null`).
 *
 * @example Round trip
 * ```ts
 * import { reportToJson } from "./report.ts";
 * const json = reportToJson({ source: "x", bootstrap: { resamples: 0, seed: 0, level: 0.95 }, tasks: [], subgroups: [] });
 * if (JSON.parse(json).source !== "x") throw new Error();
 * ```
 */
export function reportToJson(report: EvalReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}

/**
 * Writes `report.md`, `report.json` and the reliability diagrams into `outDir` (created when
 * missing) and returns the paths written.
 *
 * @example Write into a folder
 * ```ts ignore
 * import { writeReport } from "./report.ts";
 * const paths = await writeReport(report, "out/eval");
 * ```
 */
export async function writeReport(report: EvalReport, outDir: string): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const write = async (name: string, text: string) => {
    const path = `${outDir}/${name}`;
    await Deno.writeTextFile(path, text);
    written.push(path);
  };
  await write("report.md", reportToMarkdown(report));
  await write("report.json", reportToJson(report));
  for (const t of report.tasks) {
    if (t.reliability === null) continue;
    const ece = t.metrics.find((m) => m.key === "ece")?.value ?? null;
    await write(
      reliabilityFileName(t.task),
      reliabilitySvg(t.reliability, {
        title: `${t.title} (${t.task})`,
        subtitle: `ECE ${num(ece)}, n = ${t.n}`,
      }),
    );
  }
  return written;
}
