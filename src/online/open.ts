/**
 * Opening the online learner of a loaded model: its change control plan (a given file, else
 * the model directory's `change_control.json`, else every head locked), the base heads read
 * from the one graph, and the tasks the stay service must predict for it.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TaskKind } from "../data/tasks.ts";
import type { FlexCareModel } from "../model/flexcare_model.ts";
import { OnlineLearner } from "./learner.ts";
import { builtInHeads } from "./onnx_heads.ts";
import type { LinearHead } from "../finetune/linear_head.ts";
import type { ManifestTask } from "../model/manifest.ts";
import { staticsWidth } from "../model/statics.ts";
import { type ChangeControlPlan, LOCKED_PLAN, readPlan } from "./plan.ts";

/** The plan file a model directory may carry. */
export const PLAN_FILE = "change_control.json";

/** Options of {@linkcode openOnlineLearner}. */
export interface OpenOnlineOptions {
  readonly dataDir: string;
  /** A plan file; default `<model dir>/change_control.json` when present. */
  readonly plan?: string;
  /** Tasks served besides the plan's. @default {["dec", "los"]} */
  readonly tasks?: readonly string[];
  readonly log?: (level: "info" | "warn", message: string) => void;
  readonly clock?: () => Date;
  readonly worker?: boolean;
  /** Share of one core the learner's jobs may use. @default {0.1} */
  readonly duty?: number;
}

/** Reads the plan a model runs under. */
export async function modelPlan(
  model: Pick<FlexCareModel, "dir" | "manifest">,
  path?: string,
): Promise<ChangeControlPlan> {
  const kinds = new Map<string, TaskKind>(model.manifest.tasks.map((t) => [t.code, t.kind]));
  if (path !== undefined) return await readPlan(path, kinds);
  const own = join(model.dir, PLAN_FILE);
  return existsSync(own) ? await readPlan(own, kinds) : LOCKED_PLAN;
}

/**
 * The heads a model serves for `tasks`, as linear heads on its representation (s_p, plus the
 * statics encoding when the model has statics heads): a task's statics head when it has one,
 * else the graph's head (zero weights on the statics); each with its calibration temperature
 * folded in, so they give exactly the probabilities the model serves.
 */
export async function servedHeads(
  model: Pick<FlexCareModel, "dir" | "manifest">,
  tasks: readonly ManifestTask[],
  graph: string,
): Promise<Map<string, LinearHead>> {
  const manifest = model.manifest;
  const calibration = manifest.calibration?.tasks ?? {};
  const statics = manifest.statics;
  const sp = 2 * Number(manifest.config["d_model"]);
  const width = sp + (statics === undefined ? 0 : staticsWidth(statics.spec));
  const temperatureOf = (code: string) => calibration[code]?.temperature ?? 1;
  const fromGraph = tasks.filter((t) => statics?.heads[t.code] === undefined).map((t) => ({
    ...t,
    temperature: temperatureOf(t.code),
  }));
  const out = new Map<string, LinearHead>();
  if (fromGraph.length > 0) {
    const heads = builtInHeads(await Deno.readFile(join(model.dir, graph)), fromGraph, sp);
    for (const [code, h] of heads) {
      if (width === sp) {
        out.set(code, h);
        continue;
      }
      const weights = new Float32Array(h.outputs * width);
      for (let o = 0; o < h.outputs; o++) {
        weights.set(h.weights.subarray(o * sp, (o + 1) * sp), o * width);
      }
      out.set(code, { ...h, inputs: width, weights });
    }
  }
  for (const t of tasks) {
    const head = statics?.heads[t.code];
    if (head === undefined) continue;
    const T = temperatureOf(t.code);
    out.set(t.code, {
      kind: t.kind,
      inputs: width,
      outputs: t.outputs,
      weights: Float32Array.from(head.weights, (w) => w / T),
      bias: Float32Array.from(head.bias, (b) => b / T),
    });
  }
  return out;
}

/** The learner and the tasks the stay service must predict (the given ones and the plan's). */
export async function openOnlineLearner(
  model: Pick<FlexCareModel, "dir" | "manifest" | "hash" | "name">,
  options: OpenOnlineOptions,
): Promise<{ learner: OnlineLearner; tasks: string[] }> {
  const plan = await modelPlan(model, options.plan);
  const tasks = [...new Set([...(options.tasks ?? ["dec", "los"]), ...Object.keys(plan.heads)])];
  const manifestTasks = model.manifest.tasks.filter((t) => tasks.includes(t.code));
  const graph = model.manifest.graphs["flexcare"]?.file ?? "flexcare.onnx";
  const baseHeads = await servedHeads(
    model,
    manifestTasks.filter((t) => t.code in plan.heads),
    graph,
  );
  const learner = OnlineLearner.open({
    dataDir: options.dataDir,
    model: { hash: model.hash, name: model.name },
    tasks: manifestTasks.map((t) => ({
      code: t.code,
      kind: t.kind,
      outputs: t.outputs,
      labels: t.labels,
    })),
    baseHeads,
    plan,
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.worker === undefined ? {} : { worker: options.worker }),
    ...(options.duty === undefined ? {} : { duty: options.duty }),
  });
  return { learner, tasks };
}
