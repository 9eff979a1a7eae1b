/**
 * The Markdown report of a fine-tuning run: data counts, the token, and one table of every
 * head (FlexCare representation, random backbone, summary-feature regression; at the chosen
 * label fraction and at 100%) with validation and test metrics and a bootstrap interval.
 *
 * @module
 */
import type { FinetuneReport } from "./finetune.ts";
import { METRICS_BY_KIND } from "./task_metrics.ts";

function f(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(4);
}

const FEATURE_NAMES: Record<string, string> = {
  "flexcare": "FlexCare backbone (frozen) + new token",
  "random-backbone": "randomly initialized backbone",
  "summary": "summary-feature regression",
};

/**
 * Renders a report as Markdown.
 *
 * @example Render a minimal report
 * ```ts ignore
 * const md = finetuneMarkdown(report);
 * ```
 */
export function finetuneMarkdown(r: FinetuneReport): string {
  const [m1, m2] = METRICS_BY_KIND[r.kind];
  const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;
  const lines = [
    `# Fine-tuning report: ${r.task}`,
    "",
    `- Task: **${r.task}**, ${r.kind}, ${r.labels.length} ${
      r.kind === "multiclass" ? "classes" : "outputs"
    }; data \`${r.data}\``,
    `- Base model: \`${r.model.dir}\` (hash \`${r.model.hash.slice(0, 16)}\`)${
      r.randomModel ? `; random backbone \`${r.randomModel.hash.slice(0, 16)}\`` : ""
    }`,
    `- New task token: initialized from **${r.token.init}** (not trained: the backbone is frozen)`,
    `- Samples: train ${r.counts["train"]}, labelled at ${pct(r.labelFraction)}: ${
      r.counts["labelled"]
    }, validation ${r.counts["val"]}, test ${r.counts["test"]}; seed ${r.seed}`,
    `- Classes with a labelled training sample: ${
      r.classCounts["labelled"]!.filter((c) => c > 0).length
    } of ${r.labels.length}; classes present in test: ${
      r.classCounts["test"]!.filter((c) => c > 0).length
    }`,
    `- Time: representations ${r.seconds["extract"]!.toFixed(1)} s, heads ${
      r.seconds["train"]!.toFixed(1)
    } s, total ${r.seconds["total"]!.toFixed(1)} s`,
    `- Head artifact: \`${r.headPath}\``,
    ...(r.subgroups.length === 0 ? [] : [
      "",
      `Test ${m1} of the kept head by subgroup (flag: below the overall interval):`,
      "",
      "| column | group | n | positives | value (95% CI) | flag |",
      "|---|---|---:|---:|---|---|",
      ...r.subgroups.map((g) =>
        `| ${g.column} | ${g.value} | ${g.n} | ${g.positives ?? ""} | ${
          g.undefinedBecause ??
            (g.metric === null
              ? "n/a"
              : `${f(g.metric)} (${g.lower === null ? "n/a" : f(g.lower)}-${
                g.upper === null ? "n/a" : f(g.upper)
              })`)
        } | ${g.belowOverall ? "below overall" : ""} |`
      ),
      "",
    ]),
    ...(r.calibration === null ? [] : [
      `- Calibration: temperature ${
        r.calibration.temperature.toFixed(3)
      } (fitted on validation, folded into the head); ECE validation ${
        r.calibration.validation.eceBefore.toFixed(4)
      } -> ${r.calibration.validation.eceAfter.toFixed(4)}${
        r.calibration.test === undefined
          ? ""
          : `, test ${r.calibration.test.eceBefore.toFixed(4)} -> ${
            r.calibration.test.eceAfter.toFixed(4)
          }`
      }`,
    ]),
    "",
    `| features | labels | labelled | draws | val ${m1} | val ${m2} | test ${m1} ± sd | test ${m1} 95% CI (draw 1) | test ${m2} ± sd |`,
    "|---|---|---|---|---|---|---|---|---|",
    ...r.runs.map((run) =>
      `| ${FEATURE_NAMES[run.features] ?? run.features} | ${
        pct(run.fraction)
      } | ${run.labelled} | ${run.repeats.length} | ${f(run.validation[m1])} | ${
        f(run.validation[m2])
      } | ${f(run.test[m1])} ± ${f(run.testSd[m1])} | ${f(run.testCi.lower)}-${
        f(run.testCi.upper)
      } | ${f(run.test[m2])} ± ${f(run.testSd[m2])} |`
    ),
    "",
    "Heads: one linear layer, Adam with weight decay, early stopping on the validation score.",
    "Below 100% each row is the mean over label draws (seeds seed, seed+1, ...) with their",
    "standard deviation; the interval is a percentile bootstrap over test samples (300",
    "resamples) of the first draw. Validation uses the whole validation split at every label",
    "fraction. The head artifact is the FlexCare draw with the best validation score.",
    "",
    "![learning curve](learning_curve.svg)",
  ];
  if (r.notes.length > 0) lines.push("", "Notes:", ...r.notes.map((n) => `- ${n}`));
  return lines.join("\n") + "\n";
}
