/**
 * Training a linear head on fixed features: mini-batch Adam with L2 weight decay (as PyTorch's
 * `Adam(weight_decay=...)`), optional class weights, early stopping on the validation split
 * (the validation score when a score is given, ties broken by the loss; else the loss; the best
 * epoch's weights are kept). Features are standardized with the training rows'
 * statistics during training and the scaling is folded back into the weights, so the result
 * applies to the raw features.
 *
 * @module
 */
import { seededRandom } from "../eval/prng.ts";
import type { TaskKind } from "../data/tasks.ts";
import { activate, applyLinearHead, type LinearHead } from "./linear_head.ts";
import { METRICS_BY_KIND, taskMetrics } from "./task_metrics.ts";

/** Row-major features `[rows, width]` with their labels. */
export interface LabelledRows {
  readonly x: Float32Array;
  readonly width: number;
  /** Per row: binary `[0|1]`, multi-label `[1|0|-1 per label]` (-1 masked), multi-class `[class]`. */
  readonly labels: readonly (readonly number[])[];
}

/** One epoch of a head's training. */
export interface EpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly valLoss: number | null;
  /** The validation score of `TrainHeadOptions.score`, when given. */
  readonly valScore: number | null;
}

/** Options for {@linkcode trainLinearHead}. */
export interface TrainHeadOptions {
  kind: TaskKind;
  /** Number of outputs (classes, labels, or 1). */
  outputs: number;
  /** Validation rows for early stopping (and the learning curve). */
  validation?: LabelledRows;
  /** A score of validation probabilities (higher is better), recorded per epoch. */
  score?: (probs: Float32Array[], labels: readonly (readonly number[])[]) => number;
  /**
   * Maximum epochs.
   * @default {200}
   */
  epochs?: number;
  /**
   * Adam learning rate.
   * @default {0.01}
   */
  learningRate?: number;
  /**
   * L2 weight decay on the weights (not the bias).
   * @default {0.0001}
   */
  weightDecay?: number;
  /**
   * Mini-batch size.
   * @default {32}
   */
  batchSize?: number;
  /**
   * Epochs without a better validation score (or loss) before stopping.
   * @default {20}
   */
  patience?: number;
  /**
   * Weigh each class (multi-class) or positives (binary, multi-label) inversely to their
   * training frequency.
   * @default {false}
   */
  classWeights?: boolean;
  /**
   * Standardize the features with the training rows' mean and deviation while training (folded
   * into the weights afterwards).
   * @default {true}
   */
  standardize?: boolean;
  /**
   * Seed of the initialization and batch order.
   * @default {0}
   */
  seed?: number;
  /**
   * Warm start: begin from this head (on the raw features; mapped into the standardized space)
   * instead of small random weights. Epoch 0, before any update, is a candidate for the kept
   * weights too, so early stopping can keep the starting head; weight decay then pulls toward
   * the starting weights (L2-SP) instead of zero.
   */
  init?: LinearHead;
  /**
   * Called after every mini-batch (a background learner throttles itself here).
   * @default {undefined}
   */
  afterBatch?: () => void;
}

/** A trained head and its history. */
export interface TrainedHead {
  readonly head: LinearHead;
  readonly history: readonly EpochRecord[];
  /** Epoch (1-based) whose weights were kept; 0 for the starting head of a warm start. */
  readonly bestEpoch: number;
}

interface Weighting {
  /** Multi-class: weight per class; binary/multi-label: weight of positives per output. */
  readonly perClass: Float64Array;
}

function weighting(kind: TaskKind, outputs: number, rows: LabelledRows, on: boolean): Weighting {
  const perClass = new Float64Array(outputs).fill(1);
  if (!on) return { perClass };
  const n = rows.labels.length;
  if (kind === "multiclass") {
    const counts = new Float64Array(outputs);
    for (const y of rows.labels) counts[y[0]!]!++;
    const present = counts.filter((c) => c > 0).length;
    for (let c = 0; c < outputs; c++) perClass[c] = counts[c]! > 0 ? n / (present * counts[c]!) : 1;
  } else {
    for (let o = 0; o < outputs; o++) {
      let pos = 0, neg = 0;
      for (const y of rows.labels) {
        if (y[o] === 1) pos++;
        else if (y[o] === 0) neg++;
      }
      perClass[o] = pos > 0 && neg > 0 ? neg / pos : 1;
    }
  }
  return { perClass };
}

/** Mean loss and (optionally) gradients of a head on standardized rows. */
function lossAndGrad(
  kind: TaskKind,
  w: Float64Array,
  b: Float64Array,
  x: Float32Array,
  width: number,
  labels: readonly (readonly number[])[],
  rowsIdx: readonly number[],
  weights: Weighting | null,
  grad: { w: Float64Array; b: Float64Array } | null,
  probsOut?: Float32Array[],
): number {
  const outputs = b.length;
  const z = new Float64Array(outputs);
  let loss = 0;
  let count = 0;
  for (const r of rowsIdx) {
    const off = r * width;
    for (let o = 0; o < outputs; o++) {
      let s = b[o]!;
      const row = o * width;
      for (let i = 0; i < width; i++) s += w[row + i]! * x[off + i]!;
      z[o] = s;
    }
    const p = activate(kind, z);
    probsOut?.push(p);
    const y = labels[r]!;
    const dz = new Float64Array(outputs);
    if (kind === "multiclass") {
      const c = y[0]!;
      const wt = weights?.perClass[c] ?? 1;
      loss += -Math.log(Math.max(p[c]!, 1e-12)) * wt;
      count += 1;
      for (let o = 0; o < outputs; o++) dz[o] = (p[o]! - (o === c ? 1 : 0)) * wt;
    } else {
      for (let o = 0; o < outputs; o++) {
        const t = y[o]!;
        if (t !== 0 && t !== 1) continue;
        const wt = t === 1 ? weights?.perClass[o] ?? 1 : 1;
        const po = Math.min(Math.max(p[o]!, 1e-12), 1 - 1e-12);
        loss += -(t * Math.log(po) + (1 - t) * Math.log(1 - po)) * wt;
        count += 1;
        dz[o] = (p[o]! - t) * wt;
      }
    }
    if (grad !== null) {
      for (let o = 0; o < outputs; o++) {
        const d = dz[o]!;
        if (d === 0) continue;
        grad.b[o] = grad.b[o]! + d;
        const row = o * width;
        for (let i = 0; i < width; i++) grad.w[row + i] = grad.w[row + i]! + d * x[off + i]!;
      }
    }
  }
  if (grad !== null && count > 0) {
    for (let i = 0; i < grad.w.length; i++) grad.w[i] = grad.w[i]! / count;
    for (let i = 0; i < grad.b.length; i++) grad.b[i] = grad.b[i]! / count;
  }
  return count > 0 ? loss / count : 0;
}

function standardizer(rows: LabelledRows): { mean: Float64Array; scale: Float64Array } {
  const { x, width } = rows;
  const n = rows.labels.length;
  const mean = new Float64Array(width);
  const scale = new Float64Array(width).fill(1);
  if (n === 0) return { mean, scale };
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < width; i++) mean[i] = mean[i]! + x[r * width + i]!;
  }
  for (let i = 0; i < width; i++) mean[i] = mean[i]! / n;
  if (n < 2) return { mean, scale };
  const v = new Float64Array(width);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < width; i++) v[i] = v[i]! + (x[r * width + i]! - mean[i]!) ** 2;
  }
  for (let i = 0; i < width; i++) {
    const sd = Math.sqrt(v[i]! / n);
    scale[i] = sd > 1e-6 ? sd : 1;
  }
  return { mean, scale };
}

function standardized(rows: LabelledRows, s: { mean: Float64Array; scale: Float64Array }) {
  const out = new Float32Array(rows.labels.length * rows.width);
  for (let r = 0; r < rows.labels.length; r++) {
    for (let i = 0; i < rows.width; i++) {
      const k = r * rows.width + i;
      out[k] = (rows.x[k]! - s.mean[i]!) / s.scale[i]!;
    }
  }
  return out;
}

/**
 * Trains a linear head.
 *
 * @example Separable binary rows
 * ```ts
 * import { trainLinearHead } from "./train_head.ts";
 * import { applyLinearHead } from "./linear_head.ts";
 * const x = new Float32Array([-2, -1, 1, 2]);
 * const labels = [[0], [0], [1], [1]];
 * const { head } = trainLinearHead({ x, width: 1, labels }, { kind: "binary", outputs: 1 });
 * if (!(applyLinearHead(head, [3]).probs[0]! > 0.9)) throw new Error();
 * ```
 */
export function trainLinearHead(train: LabelledRows, options: TrainHeadOptions): TrainedHead {
  const { kind, outputs } = options;
  const width = train.width;
  const epochs = options.epochs ?? 200;
  const lr = options.learningRate ?? 0.01;
  const wd = options.weightDecay ?? 1e-4;
  const batchSize = options.batchSize ?? 32;
  const patience = options.patience ?? 20;
  if (train.x.length !== train.labels.length * width) {
    throw new TypeError(
      `Expected ${train.labels.length} x ${width} features, got ${train.x.length}`,
    );
  }
  if (train.labels.length === 0) throw new RangeError("Cannot train a head on no samples");
  const rand = seededRandom(options.seed ?? 0);
  const stats = options.standardize ?? true
    ? standardizer(train)
    : { mean: new Float64Array(width), scale: new Float64Array(width).fill(1) };
  const xt = standardized(train, stats);
  const val = options.validation;
  const xv = val === undefined ? null : standardized(val, stats);
  const weights = weighting(kind, outputs, train, options.classWeights ?? false);
  const w = new Float64Array(outputs * width).map(() => (rand() * 2 - 1) * 0.01);
  const b = new Float64Array(outputs);
  const init = options.init;
  if (init !== undefined) {
    if (init.inputs !== width || init.outputs !== outputs) {
      throw new TypeError(
        `The starting head is ${init.outputs}x${init.inputs}, expected ${outputs}x${width}`,
      );
    }
    // x_std = (x - mean) / scale, so w_std = w * scale and b_std = b + sum(w * mean).
    for (let o = 0; o < outputs; o++) {
      let shift = 0;
      for (let i = 0; i < width; i++) {
        w[o * width + i] = init.weights[o * width + i]! * stats.scale[i]!;
        shift += init.weights[o * width + i]! * stats.mean[i]!;
      }
      b[o] = init.bias[o]! + shift;
    }
  }
  // A warm start decays toward its starting weights (L2-SP), not toward zero.
  const anchor = init === undefined ? null : Float64Array.from(w);
  const m = { w: new Float64Array(w.length), b: new Float64Array(outputs) };
  const v = { w: new Float64Array(w.length), b: new Float64Array(outputs) };
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  let step = 0;
  let best = { loss: Infinity, epoch: 0, w: Float64Array.from(w), b: Float64Array.from(b) };
  const history: EpochRecord[] = [];
  const monitor = (valLoss: number | null, valScore: number | null, trainLoss: number) =>
    // Lower is better: minus the validation score (ties broken by the loss), else the loss.
    valScore !== null && Number.isFinite(valScore)
      ? -valScore + 1e-6 * (valLoss ?? 0)
      : valLoss ?? trainLoss;
  if (init !== undefined && val !== undefined && xv !== null && val.labels.length > 0) {
    const probs: Float32Array[] = [];
    const all = Array.from({ length: val.labels.length }, (_, i) => i);
    const valLoss = lossAndGrad(kind, w, b, xv, width, val.labels, all, null, null, probs);
    const valScore = options.score ? options.score(probs, val.labels) : null;
    best = {
      loss: monitor(valLoss, valScore, Infinity),
      epoch: 0,
      w: Float64Array.from(w),
      b: Float64Array.from(b),
    };
  }
  const order = Array.from({ length: train.labels.length }, (_, i) => i);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let trainLoss = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      options.afterBatch?.();
      const batch = order.slice(start, start + batchSize);
      const grad = { w: new Float64Array(w.length), b: new Float64Array(outputs) };
      trainLoss += lossAndGrad(kind, w, b, xt, width, train.labels, batch, weights, grad) *
        batch.length;
      for (let i = 0; i < w.length; i++) {
        grad.w[i] = grad.w[i]! + wd * (w[i]! - (anchor === null ? 0 : anchor[i]!));
      }
      step++;
      const c1 = 1 - beta1 ** step, c2 = 1 - beta2 ** step;
      for (const [p, g, mm, vv] of [[w, grad.w, m.w, v.w], [b, grad.b, m.b, v.b]] as const) {
        for (let i = 0; i < p.length; i++) {
          mm[i] = beta1 * mm[i]! + (1 - beta1) * g[i]!;
          vv[i] = beta2 * vv[i]! + (1 - beta2) * g[i]! * g[i]!;
          p[i] = p[i]! - lr * (mm[i]! / c1) / (Math.sqrt(vv[i]! / c2) + eps);
        }
      }
    }
    trainLoss /= order.length;
    let valLoss: number | null = null;
    let valScore: number | null = null;
    if (val !== undefined && xv !== null && val.labels.length > 0) {
      const probs: Float32Array[] = [];
      const all = Array.from({ length: val.labels.length }, (_, i) => i);
      valLoss = lossAndGrad(kind, w, b, xv, width, val.labels, all, null, null, probs);
      if (options.score) valScore = options.score(probs, val.labels);
    }
    history.push({ epoch, trainLoss, valLoss, valScore });
    const monitored = monitor(valLoss, valScore, trainLoss);
    if (monitored < best.loss - 1e-9) {
      best = { loss: monitored, epoch, w: Float64Array.from(w), b: Float64Array.from(b) };
    } else if (valLoss !== null && epoch - best.epoch >= patience) break;
  }
  // Fold the standardization into the weights: w' = w / scale, b' = b - sum(w' * mean).
  const weightsOut = new Float32Array(outputs * width);
  const biasOut = new Float32Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let shift = 0;
    for (let i = 0; i < width; i++) {
      const wi = best.w[o * width + i]! / stats.scale[i]!;
      weightsOut[o * width + i] = wi;
      shift += wi * stats.mean[i]!;
    }
    biasOut[o] = best.b[o]! - shift;
  }
  return {
    head: { kind, inputs: width, outputs, weights: weightsOut, bias: biasOut },
    history,
    bestEpoch: best.epoch,
  };
}

/** What {@linkcode trainLinearHeadByValidation} kept. */
export interface ChosenHead {
  readonly head: LinearHead;
  readonly weightDecay: number;
  /** The task's first metric (`METRICS_BY_KIND`) on the validation rows; -Infinity when undefined. */
  readonly score: number;
}

/**
 * One head per weight decay (early stopping on the validation rows' first metric of the task's
 * kind), and the one whose validation score is best; ties keep the earlier decay.
 */
export function trainLinearHeadByValidation(
  train: LabelledRows,
  validation: LabelledRows,
  options: { kind: TaskKind; outputs: number; weightDecays: readonly number[]; seed?: number },
): ChosenHead {
  const lead = METRICS_BY_KIND[options.kind][0];
  const score = (probs: ArrayLike<number>[], labels: readonly (readonly number[])[]) => {
    const v = taskMetrics(options.kind, labels, probs)[lead]!;
    return Number.isFinite(v) ? v : -Infinity;
  };
  let best: ChosenHead | null = null;
  for (const weightDecay of options.weightDecays) {
    const trained = trainLinearHead(train, {
      kind: options.kind,
      outputs: options.outputs,
      validation,
      score,
      weightDecay,
      seed: options.seed ?? 0,
    });
    const s = score(applyRows(trained.head, validation).map((o) => o.probs), validation.labels);
    if (best === null || s > best.score) best = { head: trained.head, weightDecay, score: s };
  }
  if (best === null) throw new RangeError("No weight decay to try");
  return best;
}

/** The head's outputs on every row of `rows`. */
export function applyRows(head: LinearHead, rows: Pick<LabelledRows, "x" | "width">) {
  const n = rows.x.length / rows.width;
  return Array.from(
    { length: n },
    (_, i) => applyLinearHead(head, rows.x.subarray(i * rows.width, (i + 1) * rows.width)),
  );
}
