/**
 * Online fine-tuning in the running service. The stay service hands every committed prediction's
 * patient representation s_p to the learner ({@linkcode OnlineLearner.record}); outcomes
 * ({@linkcode OnlineLearner.addOutcome}) label those samples exactly as the dataset builders
 * would; each label is first scored prequentially (frozen base head, incumbent, candidate: none
 * has trained on it), then joins the training window. In a Worker, off the request path, the
 * learner trains a candidate head per task (warm start from the incumbent, the same head code as
 * `deno task finetune`) after every `retrainEvery` new labels, lets it predict in shadow until
 * `minEvaluationSamples` newly labelled samples, and decides once, by the change control plan:
 * promote (automatic), wait for a person (approval), or refuse. Every head version, decision,
 * manual promotion and rollback is kept with its evidence; a restart resumes the same state.
 *
 * The incumbent serves: for a task whose incumbent is not the base head,
 * {@linkcode OnlineLearner.override} gives the stay service the probabilities to publish.
 *
 * @module
 */
import type { TaskKind } from "../data/tasks.ts";
import { applyLinearHead, type LinearHead } from "../finetune/linear_head.ts";
import { ServiceError } from "../session/errors.ts";
// The web Worker, taken before onnxruntime-web's glue replaces the global under Deno.
import { WebWorker } from "../model/worker_ort.ts";
import {
  EMPTY_OUTCOME,
  type LabelTask,
  mergeOutcome,
  type Outcome,
  type OutcomeInput,
  outcomeToJson,
  parseOutcome,
  sampleLabel,
} from "./outcome.ts";
import { type ChangeControlPlan, type HeadPlan, planToJson } from "./plan.ts";
import { type EvaluationRow, OnlineStore, type TaskState } from "./store.ts";
import {
  closeReaders,
  type DriftJob,
  type DriftResult,
  DUTY_CYCLE,
  type EvaluateJob,
  runJob,
  type TrainJob,
  type TrainResult,
} from "./learner_worker.ts";
import type { ShadowEvidence } from "./shadow.ts";

/** A task the learner can label and learn. */
export interface LearnerTask extends LabelTask {
  readonly kind: TaskKind;
}

/** Options of {@linkcode OnlineLearner.open}. */
export interface OnlineLearnerOptions {
  /** Folder of `online.sqlite` (the service's data folder). */
  readonly dataDir: string;
  /** The loaded model's hash and name (lineage). */
  readonly model: { readonly hash: string; readonly name: string };
  /** Tasks the service predicts (labels are accepted for these). */
  readonly tasks: readonly LearnerTask[];
  /** The base model's heads of the tasks (version 1 of each). */
  readonly baseHeads: ReadonlyMap<string, LinearHead>;
  readonly plan: ChangeControlPlan;
  /** @default {() => new Date()} */
  readonly clock?: () => Date;
  /**
   * Run training and evaluations in a Worker (`false`: in-process, for tests of the logic).
   * @default {true}
   */
  readonly worker?: boolean;
  /**
   * Share of one core the Worker's jobs may use (they sleep between slices of work).
   * @default {0.1}
   */
  readonly duty?: number;
  /** Warnings and promotions (no identifiers, no values). */
  readonly log?: (level: "info" | "warn", message: string) => void;
  /**
   * Unlabelled samples older than this are deleted (no outcome came).
   * @default {720}
   */
  readonly retentionHours?: number;
}

/** A prediction's representation for the learner. */
export interface RecordedSample {
  readonly task: string;
  readonly hours: number;
  readonly representation: ArrayLike<number>;
}

/** What an outcome did. */
export interface OutcomeResult {
  readonly stayId: string;
  readonly duplicate: boolean;
  readonly outcome: Record<string, unknown>;
  /** Newly labelled samples per task. */
  readonly labelled: Readonly<Record<string, number>>;
}

type Job = TrainJob | EvaluateJob | DriftJob;

/** Drift is measured in the Worker at most this often per task, after new labels. */
const DRIFT_INTERVAL_MS = 30_000;

/** The online learner of a service. */
export class OnlineLearner {
  readonly plan: ChangeControlPlan;
  readonly #store: OnlineStore;
  readonly #dataDir: string;
  readonly #tasks: Map<string, LearnerTask>;
  readonly #model: { hash: string; name: string };
  readonly #clock: () => Date;
  readonly #log: (level: "info" | "warn", message: string) => void;
  readonly #retentionMs: number;
  /** Incumbent heads by task (absent: the base head serves, i.e. the graph's own output). */
  readonly #serving = new Map<string, { version: number; head: LinearHead }>();
  readonly #base = new Map<string, LinearHead>();
  readonly #candidates = new Map<string, { version: number; head: LinearHead }>();
  #worker: Worker | null = null;
  readonly #useWorker: boolean;
  readonly #duty: number;
  #jobId = 0;
  readonly #waiting = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #chain: Promise<void> = Promise.resolve();
  readonly #busy = new Set<string>();
  /** Label seq at a task's last failed job (retried only after newer labels). */
  readonly #failedAt = new Map<string, number>();
  readonly #lastEvidence = new Map<string, ShadowEvidence>();
  /** The latest drift measurement per task (from the Worker, off the request path). */
  readonly #drift = new Map<string, DriftResult & { at: string }>();
  readonly #driftAt = new Map<string, number>();
  #closed = false;
  #jobs = 0;

  private constructor(options: OnlineLearnerOptions, store: OnlineStore) {
    this.plan = options.plan;
    this.#store = store;
    this.#dataDir = options.dataDir;
    this.#tasks = new Map(options.tasks.map((t) => [t.code, t]));
    this.#model = { hash: options.model.hash, name: options.model.name };
    this.#clock = options.clock ?? (() => new Date());
    this.#log = options.log ?? ((level, m) => level === "warn" && console.warn(`[online] ${m}`));
    this.#useWorker = options.worker ?? true;
    this.#duty = options.duty ?? DUTY_CYCLE;
    if (!(this.#duty > 0 && this.#duty <= 1)) throw new RangeError("duty must be in (0, 1]");
    this.#retentionMs = (options.retentionHours ?? 720) * 3_600_000;
    for (const task of this.#learned()) {
      const base = options.baseHeads.get(task);
      if (base === undefined) throw new TypeError(`No base head for the planned task ${task}`);
      this.#base.set(task, base);
    }
  }

  /** Opens the learner's store and resumes its state (version 1 of each head is the base). */
  static open(options: OnlineLearnerOptions): OnlineLearner {
    const store = OnlineStore.open(options.dataDir);
    try {
      const learner = new OnlineLearner(options, store);
      learner.#resume();
      return learner;
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /** Tasks in the plan (recorded, evaluated; learned unless locked). */
  #learned(): string[] {
    return Object.keys(this.plan.heads).filter((t) => this.#tasks.has(t));
  }

  #now(): string {
    return this.#clock().toISOString();
  }

  #resume(): void {
    const now = this.#now();
    for (const task of this.#learned()) {
      const base = this.#base.get(task)!;
      let state = this.#store.state(task);
      if (state === null) {
        this.#store.transaction(() => {
          const version = this.#store.addHead(task, base, {
            source: "base model",
            baseModel: this.#model.hash,
            modelName: this.#model.name,
          }, now);
          state = {
            task,
            incumbent: version,
            candidate: null,
            trainedThrough: 0,
            awaitingApproval: false,
          };
          this.#store.putState(state);
          this.#store.addChange({
            at: now,
            task,
            action: "base",
            version,
            actor: "service",
            evidence: { baseModel: this.#model.hash, plan: planToJson(this.plan) },
          });
        });
      } else {
        const v1 = this.#store.head(task, 1);
        const baseModel = v1?.lineage["baseModel"];
        if (baseModel !== this.#model.hash) {
          throw new TypeError(
            `The online heads in ${this.#store.path} were learned on base model ${
              String(baseModel).slice(0, 12)
            }, not on the loaded model ${this.#model.hash.slice(0, 12)}: use another data folder`,
          );
        }
      }
      this.#load(state!);
    }
  }

  #load(state: TaskState): void {
    if (state.incumbent === 1) this.#serving.delete(state.task);
    else {
      const h = this.#store.head(state.task, state.incumbent)!;
      this.#serving.set(state.task, { version: h.version, head: h.head });
    }
    if (state.candidate === null) this.#candidates.delete(state.task);
    else {
      const h = this.#store.head(state.task, state.candidate)!;
      this.#candidates.set(state.task, { version: h.version, head: h.head });
    }
  }

  #headPlan(task: string): HeadPlan | undefined {
    return this.plan.heads[task];
  }

  /** Tasks whose representations the learner keeps. */
  tasks(): string[] {
    return this.#learned();
  }

  /** The probabilities to publish for `task` when its incumbent is not the base head. */
  override(task: string, representation: ArrayLike<number>): Float32Array | null {
    const serving = this.#serving.get(task);
    return serving === undefined ? null : applyLinearHead(serving.head, representation).probs;
  }

  /** The incumbent version serving a task (1 = base model). */
  servingVersion(task: string): number {
    return this.#serving.get(task)?.version ?? 1;
  }

  /**
   * Keeps the representations of committed predictions (the latest per task and hour); a stay
   * whose outcome is known labels them at once.
   */
  record(
    stayId: string,
    admittedAt: string,
    firstObs: number,
    samples: readonly RecordedSample[],
  ): void {
    if (this.#closed) return;
    const keep = samples.filter((s) => this.#base.has(s.task));
    if (keep.length === 0) return;
    const now = this.#now();
    let labelled: Record<string, number> = {};
    this.#store.transaction(() => {
      this.#store.noteStay(stayId, admittedAt, firstObs, now);
      for (const s of keep) this.#store.putSample(stayId, s.task, s.hours, s.representation, now);
      const known = this.#store.stay(stayId);
      if (known?.outcome) labelled = this.#labelStay(stayId, known.outcome, known.firstObs);
    });
    this.#after(labelled);
  }

  /**
   * Records an outcome (idempotent by `eventId`; a conflicting value is 409) and labels the
   * stay's predictions.
   */
  addOutcome(stayId: string, admittedAt: string, input: OutcomeInput): OutcomeResult {
    if (this.#closed) throw new ServiceError(503, "closing", "The service is shutting down");
    const parsed = parseOutcome(input, Date.parse(admittedAt), this.#tasks);
    const eventId = input.eventId;
    if (eventId !== undefined) {
      const stored = this.#store.outcomeEvent(stayId, eventId);
      if (stored !== undefined) return { ...(stored as OutcomeResult), duplicate: true };
    }
    const now = this.#now();
    let result!: OutcomeResult;
    this.#store.transaction(() => {
      const known = this.#store.stay(stayId);
      const merged: Outcome = mergeOutcome(known?.outcome ?? EMPTY_OUTCOME, parsed);
      this.#store.setOutcome(stayId, admittedAt, merged, now);
      const labelled = this.#labelStay(stayId, merged, known?.firstObs ?? Infinity);
      result = { stayId, duplicate: false, outcome: outcomeToJson(merged), labelled };
      if (eventId !== undefined) this.#store.addOutcomeEvent(stayId, eventId, result, now);
    });
    this.#after(result.labelled);
    return result;
  }

  /** Validates an outcome as {@linkcode addOutcome} would, storing nothing. */
  check(stayId: string, admittedAt: string, input: OutcomeInput): void {
    const parsed = parseOutcome(input, Date.parse(admittedAt), this.#tasks);
    if (input.eventId !== undefined && this.#store.outcomeEvent(stayId, input.eventId)) return;
    mergeOutcome(this.#store.stay(stayId)?.outcome ?? EMPTY_OUTCOME, parsed);
  }

  /** The stay's known outcome (null when none). */
  outcome(stayId: string): Record<string, unknown> | null {
    const o = this.#store.stay(stayId)?.outcome;
    return o ? outcomeToJson(o) : null;
  }

  /** The stay's kept predictions and the labels derived for them (no representations). */
  samples(stayId: string): ReturnType<OnlineStore["staySamples"]> {
    return this.#store.staySamples(stayId);
  }

  /** Labels the stay's unlabelled samples and scores them prequentially (in a transaction). */
  #labelStay(stayId: string, outcome: Outcome, firstObs: number): Record<string, number> {
    const counts: Record<string, number> = {};
    const references = new Map<string, number>();
    const awaiting = new Map<string, boolean>();
    for (const sample of this.#store.unlabelled(stayId)) {
      const task = this.#tasks.get(sample.task);
      const plan = this.#headPlan(sample.task);
      if (task === undefined || plan === undefined) continue;
      const y = sampleLabel(task, sample.hours, outcome, firstObs);
      if (y === null) continue;
      const held = references.get(sample.task) ?? this.#store.referenceCount(sample.task);
      const reference = held < plan.referenceSamples;
      references.set(sample.task, held + (reference ? 1 : 0));
      this.#store.label(sample.id, y, reference);
      counts[sample.task] = (counts[sample.task] ?? 0) + 1;
      if (reference) continue;
      const x = sample.representation;
      const base = applyLinearHead(this.#base.get(sample.task)!, x).probs;
      const serving = this.#serving.get(sample.task);
      const candidate = this.#candidates.get(sample.task);
      let waits = awaiting.get(sample.task);
      if (waits === undefined) {
        waits = this.#store.state(sample.task)?.awaitingApproval ?? false;
        awaiting.set(sample.task, waits);
      }
      const shadow = candidate !== undefined && !waits;
      this.#store.addEvaluation({
        task: sample.task,
        stayId,
        hours: sample.hours,
        label: y,
        base: Array.from(base),
        incumbent: Array.from(
          serving === undefined ? base : applyLinearHead(serving.head, x).probs,
        ),
        incumbentVersion: serving?.version ?? 1,
        candidate: shadow ? Array.from(applyLinearHead(candidate.head, x).probs) : null,
        candidateVersion: shadow ? candidate.version : null,
      });
    }
    return counts;
  }

  /** Starts what new labels make due, in the background. */
  #after(labelled: Record<string, number>): void {
    for (const task of Object.keys(labelled)) {
      this.#measureDrift(task);
      this.#consider(task);
    }
  }

  /** Queues a drift measurement of `task` unless one ran within `DRIFT_INTERVAL_MS`. */
  #measureDrift(task: string): void {
    const now = Date.now();
    if (this.#closed || now - (this.#driftAt.get(task) ?? -Infinity) < DRIFT_INTERVAL_MS) return;
    this.#driftAt.set(task, now);
    const info = this.#tasks.get(task)!;
    const job: DriftJob = {
      op: "drift",
      dataDir: this.#dataDir,
      task,
      kind: info.kind,
      window: this.plan.drift.window,
    };
    this.#chain = this.#chain.then(async () => {
      const result = await this.#run(job) as DriftResult;
      this.#drift.set(task, { ...result, at: this.#now() });
    }).catch((error) => {
      this.#log("warn", `The ${task} drift measurement failed: ${(error as Error).message}`);
    });
  }

  #consider(task: string): void {
    if (this.#closed || this.#busy.has(task)) return;
    const failedAt = this.#failedAt.get(task);
    if (failedAt !== undefined) {
      if (this.#store.labelSeq() <= failedAt) return;
      this.#failedAt.delete(task);
    }
    const plan = this.#headPlan(task);
    const state = this.#store.state(task);
    if (plan === undefined || state === null) return;
    const candidate = this.#candidates.get(task);
    if (candidate !== undefined) {
      if (state.awaitingApproval) return;
      const counts = this.#store.candidateEvaluationCounts(task, candidate.version);
      if (
        counts.samples < plan.minEvaluationSamples || counts.stays < plan.minEvaluationStays ||
        (this.#tasks.get(task)!.kind === "binary" && counts.positiveStays < plan.minPositiveStays)
      ) return;
      this.#background(task, () => this.#evaluate(task, plan, candidate.version));
      return;
    }
    if (plan.update === "locked") return;
    if (this.#store.labelledSince(task, state.trainedThrough) < plan.retrainEvery) return;
    this.#background(task, () => this.#train(task, plan));
  }

  #background(task: string, job: () => Promise<void>): void {
    this.#busy.add(task);
    let failed = false;
    this.#chain = this.#chain.then(job).catch((error) => {
      failed = true;
      // No retry until the next label: a failing job must not spin.
      this.#failedAt.set(task, this.#store.labelSeq());
      this.#log("warn", `The ${task} learner failed: ${(error as Error).message}`);
    }).finally(() => {
      this.#busy.delete(task);
      // More labels may have come while it ran.
      if (!failed) setTimeout(() => this.#consider(task), 0);
    });
  }

  async #train(task: string, plan: HeadPlan): Promise<void> {
    const info = this.#tasks.get(task)!;
    const through = this.#store.labelSeq();
    const incumbent = this.#serving.get(task) ?? { version: 1, head: this.#base.get(task)! };
    const started = performance.now();
    // The Worker reads the window itself (read-only connection): nothing heavy here.
    const result = await this.#run({
      op: "train",
      dataDir: this.#dataDir,
      task,
      through,
      labelWindow: plan.labelWindow,
      kind: info.kind,
      outputs: info.outputs,
      init: incumbent.head,
      metric: plan.metric,
      seed: through,
    }) as TrainResult;
    if (this.#closed) return;
    const now = this.#now();
    const head = result.head;
    if (result.window === null || head === null) {
      // Every label fell on one side of the stay split: wait for more.
      this.#store.transaction(() =>
        this.#store.putState({ ...this.#store.state(task)!, trainedThrough: through })
      );
      return;
    }
    const lineage = {
      source: "online",
      baseModel: this.#model.hash,
      parent: incumbent.version,
      labelWindow: result.window,
      training: {
        warmStart: incumbent.version,
        bestEpoch: result.bestEpoch,
        epochs: result.epochs,
        validation: { loss: result.valLoss, metric: plan.metric, value: result.valScore },
        seconds: (performance.now() - started) / 1000,
      },
    };
    if (result.bestEpoch === 0) {
      // Training never beat the incumbent on its validation split: nothing to shadow.
      this.#store.transaction(() => {
        this.#store.putState({ ...this.#store.state(task)!, trainedThrough: through });
        this.#store.addChange({
          at: now,
          task,
          action: "no candidate",
          version: null,
          actor: "learner",
          evidence: { ...lineage, reason: "the incumbent had the lowest validation loss" },
        });
      });
      return;
    }
    this.#store.transaction(() => {
      const version = this.#store.addHead(task, head, lineage, now);
      // The state as it is now: a person may have promoted or rolled back meanwhile.
      const next = {
        ...this.#store.state(task)!,
        candidate: version,
        trainedThrough: through,
        awaitingApproval: false,
      };
      this.#store.putState(next);
      this.#store.addChange({
        at: now,
        task,
        action: "candidate",
        version,
        actor: "learner",
        evidence: lineage,
      });
      this.#candidates.set(task, { version, head });
    });
    this.#log("info", `A new ${task} candidate head is in shadow`);
  }

  async #evaluate(task: string, plan: HeadPlan, version: number): Promise<void> {
    const info = this.#tasks.get(task)!;
    const candidate = this.#candidates.get(task);
    if (candidate === undefined || candidate.version !== version) return;
    // The Worker reads the shadow rows and the reference set itself.
    const evidence = await this.#run({
      op: "evaluate",
      dataDir: this.#dataDir,
      task,
      version,
      candidate: candidate.head,
      base: this.#base.get(task)!,
      kind: info.kind,
      plan,
      seed: version,
    }) as ShadowEvidence;
    if (this.#closed) return;
    this.#lastEvidence.set(task, evidence);
    const now = this.#now();
    const state = this.#store.state(task)!;
    const summary = { ...evidenceJson(evidence), plan: { source: this.plan.source, head: plan } };
    this.#store.transaction(() => {
      if (!evidence.passed) {
        this.#store.putState({ ...state, candidate: null, awaitingApproval: false });
        this.#store.addChange({
          at: now,
          task,
          action: "refused",
          version,
          actor: "learner",
          evidence: summary,
        });
        this.#candidates.delete(task);
      } else if (plan.update === "automatic") {
        this.#promoteNow(task, version, state, "learner", summary, now);
      } else {
        this.#store.putState({ ...state, awaitingApproval: true });
        this.#store.addChange({
          at: now,
          task,
          action: "awaiting approval",
          version,
          actor: "learner",
          evidence: summary,
        });
      }
    });
    this.#log(
      "info",
      `The ${task} candidate was ${
        evidence.passed
          ? plan.update === "automatic" ? "promoted" : "passed for approval"
          : "refused"
      }`,
    );
  }

  #promoteNow(
    task: string,
    version: number,
    state: TaskState,
    actor: string,
    evidence: Record<string, unknown>,
    now: string,
  ): void {
    this.#store.putState({
      ...state,
      incumbent: version,
      candidate: null,
      awaitingApproval: false,
    });
    this.#store.addChange({
      at: now,
      task,
      action: "promoted",
      version,
      actor,
      evidence: { ...evidence, previous: state.incumbent },
    });
    this.#load(this.#store.state(task)!);
  }

  /**
   * A person promotes a head version (default: the candidate). Refused (409, logged) when the
   * plan locks the task, or the version's shadow evaluation did not hold the plan's hard limits
   * (calibration, reference set) or never ran.
   */
  promote(
    task: string,
    actor: string,
    version?: number,
    reason?: string,
  ): Record<string, unknown> {
    const plan = this.#headPlan(task);
    const state = this.#store.state(task);
    if (plan === undefined || state === null) {
      throw new ServiceError(
        404,
        "unknown_head",
        `No online head "${task}": the plan lists ${this.#learned().join(", ") || "none"}`,
        { field: "task" },
      );
    }
    const now = this.#now();
    const v = version ?? state.candidate;
    const refuse = (reason: string, evidence: Record<string, unknown> = {}) => {
      this.#store.addChange({
        at: now,
        task,
        action: "promotion refused",
        version: v ?? null,
        actor,
        evidence: { reason, ...evidence },
      });
      return new ServiceError(409, "plan_forbids", `Promotion of ${task} refused: ${reason}`, {
        field: "version",
      });
    };
    if (v === null || v === undefined) throw refuse("there is no candidate");
    const head = this.#store.head(task, v);
    if (head === null) throw refuse(`there is no version ${v}`);
    if (v === state.incumbent) throw refuse(`version ${v} already serves`);
    if (plan.update === "locked") throw refuse("the change control plan locks this head");
    // The version's shadow evaluation: the learner's decision on it, with the rules.
    const decision = this.#store.changes().filter((c) =>
      c.task === task && c.version === v && c.actor === "learner" &&
      Array.isArray(c.evidence["rules"])
    ).at(-1);
    if (decision === undefined) throw refuse(`version ${v} has no shadow evaluation yet`);
    const rules = (decision.evidence["rules"] ?? []) as { rule: string; passed: boolean }[];
    const hard = rules.filter((r) =>
      r.rule === "calibration" || r.rule === "reference set" || r.rule === "enough shadow samples"
    );
    const failed = hard.filter((r) => !r.passed).map((r) => r.rule);
    if (failed.length > 0) {
      throw refuse(
        `version ${v} failed the plan's limits: ${failed.join(", ")}`,
        decision.evidence,
      );
    }
    this.#store.transaction(() =>
      this.#promoteNow(task, v, state, actor, {
        ...decision.evidence,
        manual: true,
        ...(reason === undefined ? {} : { reason }),
      }, now)
    );
    return this.describeTask(task);
  }

  /** A person rolls back to the previous incumbent (or a given earlier version). */
  rollback(
    task: string,
    actor: string,
    version?: number,
    reason?: string,
  ): Record<string, unknown> {
    const state = this.#store.state(task);
    if (state === null) {
      throw new ServiceError(404, "unknown_head", `No online head "${task}"`, { field: "task" });
    }
    const now = this.#now();
    const current = this.#store.head(task, state.incumbent)!;
    const target = version ?? Number(current.lineage["parent"] ?? 1);
    if (this.#store.head(task, target) === null) {
      throw new ServiceError(422, "invalid_request", `No ${task} head version ${target}`, {
        field: "version",
      });
    }
    if (target === state.incumbent) {
      throw new ServiceError(409, "already_serving", `Version ${target} already serves ${task}`, {
        field: "version",
      });
    }
    this.#store.transaction(() => {
      this.#store.putState({
        ...state,
        incumbent: target,
        candidate: null,
        awaitingApproval: false,
      });
      this.#store.addChange({
        at: now,
        task,
        action: "rollback",
        version: target,
        actor,
        evidence: { from: state.incumbent, ...(reason === undefined ? {} : { reason }) },
      });
    });
    this.#load(this.#store.state(task)!);
    return this.describeTask(task);
  }

  /** One task's heads, state, prequential summary and drift. */
  describeTask(task: string): Record<string, unknown> {
    const state = this.#store.state(task);
    const plan = this.#headPlan(task);
    if (state === null || plan === undefined) {
      throw new ServiceError(404, "unknown_head", `No online head "${task}"`, { field: "task" });
    }
    const measured = this.#drift.get(task);
    const ece = measured?.calibrationError ?? NaN;
    const shift = measured?.inputShift ?? NaN;
    const last = this.#lastEvidence.get(task);
    return {
      task,
      update: plan.update,
      incumbent: state.incumbent,
      candidate: state.candidate,
      awaitingApproval: state.awaitingApproval,
      versions: this.#store.versions(task),
      labelled: this.#store.labelledSince(task, 0),
      referenceSamples: this.#store.referenceCount(task),
      evaluations: this.#store.evaluationCount(task),
      ...(last === undefined ? {} : { lastEvaluation: evidenceJson(last) }),
      drift: {
        window: measured?.window ?? 0,
        measuredAt: measured?.at ?? null,
        calibrationError: finite(ece),
        inputShift: finite(shift),
        calibrationFlag: Number.isFinite(ece) && ece > this.plan.drift.maxCalibrationError,
        inputShiftFlag: Number.isFinite(shift) && shift > this.plan.drift.maxInputShift,
      },
    };
  }

  /** Everything for `GET /v1/online`. */
  describe(): Record<string, unknown> {
    return {
      plan: planToJson(this.plan),
      store: this.#store.counts(),
      heads: this.#learned().map((t) => this.describeTask(t)),
    };
  }

  /** Prometheus lines: head versions, labels, drift per task (no identifiers). */
  metricsText(): string[] {
    const lines: string[] = [];
    const gauge = (name: string, help: string, values: [string, number | null][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const [task, v] of values) {
        if (v !== null) lines.push(`${name}{task="${task}"} ${v}`);
      }
    };
    const views = this.#learned().map((t) => this.describeTask(t));
    const of = (f: (v: Record<string, unknown>) => number | null) =>
      views.map((v) => [String(v["task"]), f(v)] as [string, number | null]);
    const drift = (v: Record<string, unknown>) => v["drift"] as Record<string, number | null>;
    gauge(
      "flexcare_online_incumbent_version",
      "Head version serving each task (1 = base model).",
      of((v) => Number(v["incumbent"])),
    );
    gauge(
      "flexcare_online_candidate_version",
      "Head version in shadow (absent: none).",
      of((v) => v["candidate"] as number | null),
    );
    gauge(
      "flexcare_online_labelled_samples",
      "Labelled training samples kept per task.",
      of((v) => Number(v["labelled"])),
    );
    gauge(
      "flexcare_online_evaluations",
      "Prequential evaluations per task.",
      of((v) => Number(v["evaluations"])),
    );
    gauge(
      "flexcare_online_calibration_error",
      "Rolling ECE of the incumbent (binary tasks).",
      of((v) => drift(v)["calibrationError"] ?? null),
    );
    gauge(
      "flexcare_online_input_shift",
      "Mean absolute standardized shift of s_p, window vs reference set.",
      of((v) => drift(v)["inputShift"] ?? null),
    );
    gauge(
      "flexcare_online_drift_flag",
      "1 when rolling calibration or input shift is outside the plan's bounds.",
      of((v) =>
        Number(Boolean(drift(v)["calibrationFlag"]) || Boolean(drift(v)["inputShiftFlag"]))
      ),
    );
    lines.push(
      "# HELP flexcare_online_jobs_total Learner jobs run (training and evaluations).",
      "# TYPE flexcare_online_jobs_total counter",
      `flexcare_online_jobs_total ${this.#jobs}`,
    );
    return lines;
  }

  /** Prequential evaluations of a task after `after` (for the replay and plots). */
  evaluations(task: string, after = 0, limit = 10000): EvaluationRow[] {
    if (this.#headPlan(task) === undefined) {
      throw new ServiceError(404, "unknown_head", `No online head "${task}"`, { field: "task" });
    }
    return this.#store.evaluations(task, after, limit);
  }

  /** The change log after `after`. */
  changes(after = 0): ReturnType<OnlineStore["changes"]> {
    return this.#store.changes(after);
  }

  /** Drops samples no outcome came for within the retention, and labelled ones beyond the windows. */
  prune(): number {
    const before = new Date(this.#clock().getTime() - this.#retentionMs).toISOString();
    for (const task of this.#learned()) {
      this.#store.pruneLabelled(task, this.#headPlan(task)!.labelWindow);
    }
    return this.#store.pruneUnlabelled(before);
  }

  /** Training and evaluation jobs run so far. */
  get jobs(): number {
    return this.#jobs;
  }

  /** Resolves when no training or evaluation is queued or running. */
  async idle(): Promise<void> {
    while (true) {
      const c = this.#chain;
      await c;
      await new Promise((r) => setTimeout(r, 0));
      if (c === this.#chain && this.#busy.size === 0) return;
    }
  }

  #run(job: Job): Promise<unknown> {
    // Training and evaluations (what `jobs` and /metrics count), not drift measurements.
    if (job.op !== "drift") this.#jobs += 1;
    if (!this.#useWorker) return Promise.resolve(runJob(job));
    if (this.#worker === null) {
      const worker = new WebWorker(new URL("./learner_worker_main.ts", import.meta.url), {
        type: "module",
      });
      worker.onmessage = (e: MessageEvent<{ id: number; result?: unknown; error?: string }>) => {
        const w = this.#waiting.get(e.data.id);
        if (w === undefined) return;
        this.#waiting.delete(e.data.id);
        if (e.data.error !== undefined) w.reject(new Error(e.data.error));
        else w.resolve(e.data.result);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        for (const w of this.#waiting.values()) w.reject(new Error(e.message));
        this.#waiting.clear();
        this.#worker?.terminate();
        this.#worker = null;
      };
      this.#worker = worker;
    }
    const id = ++this.#jobId;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker!.postMessage({ id, job, duty: this.#duty });
    });
  }

  /** Waits for running jobs, stops the Worker and closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.idle();
    this.#closed = true;
    this.#worker?.terminate();
    this.#worker = null;
    if (!this.#useWorker) closeReaders();
    this.#store.close();
  }
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function evidenceJson(e: ShadowEvidence): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(e, (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v),
  );
}
