/**
 * The step engine: for a resident stay and a list of prediction times, builds the model
 * inputs (standardized time-series rows, cached image and note tower states) and runs the
 * model once per time for every served task (DEC and LOS by default) — the staged `step` graph
 * when the model has one, the one graph (`predict`) for reference-mode models.
 *
 * Towers run lazily and once per image or note while the stay is resident: a stay reloaded
 * from the log re-encodes an image or note only when a step first needs it.
 *
 * Every model (and note encoder) call goes through one queue: onnxruntime-web's wasm backend
 * returns corrupt results when runs of two sessions overlap (seen with onnxruntime-web 1.30 in
 * Deno: `Cannot read properties of null` from `decodeTensorMetadata`), and a single-threaded
 * wasm runtime gains nothing from overlapping them anyway. Stays still interleave between calls.
 *
 * @module
 */
import type { FlexCareModel, TowerStates } from "../model/flexcare_model.ts";
import { lastRows } from "../features/matrix.ts";
import { standardize } from "../features/normalizer.ts";
import { EPS } from "../features/observation.ts";
import type { EncodedNote, NoteEncoder } from "../features/notes/encoder.ts";
import { preprocessImage } from "../features/image/preprocess.ts";
import { news2FromMatrix } from "../eval/news2_matrix.ts";
import { type AttachmentEntry, latestAt, type StayRuntime } from "./stay_runtime.ts";
import { toStayPrediction } from "./prediction.ts";
import type { StayPrediction } from "./types.ts";
import { ServiceError } from "./errors.ts";

/** The error of a write whose client went away before its first step ran. */
export function clientGone(): ServiceError {
  return new ServiceError(499, "client_gone", "The client went away before the write started");
}

/** The parts of a loaded model the sessions use. */
export type SessionModel = Pick<
  FlexCareModel,
  | "dir"
  | "manifest"
  | "normalizer"
  | "runtime"
  | "name"
  | "hash"
  | "staged"
  | "task"
  | "step"
  | "predict"
  | "encodeImage"
  | "encodeNote"
>;

/** Options of {@linkcode StepEngine}. */
export interface StepEngineOptions {
  readonly model: SessionModel;
  readonly noteEncoder: NoteEncoder;
  /** Task codes predicted at every step. */
  readonly tasks: readonly string[];
  /** Reads an image event's stored bytes (lazy tower after a reload). */
  readonly loadImage: (stayId: string, eventSeq: number) => Uint8Array;
  /** Online heads: the probabilities to publish instead of the graph's (null: the graph's). */
  readonly override?: (task: string, representation: Float32Array) => Float32Array | null;
  /** Keep each prediction's representation s_p ({@linkcode StepEngine.representation}). */
  readonly keepRepresentations?: boolean;
}

/** Runs model steps for resident stays. */
export class StepEngine {
  readonly #model: SessionModel;
  readonly #encoder: NoteEncoder;
  readonly #tasks: readonly string[];
  readonly #loadImage: (stayId: string, eventSeq: number) => Uint8Array;
  readonly #version: { name: string; version: string };
  readonly #maxNoteTokens: number;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #override: StepEngineOptions["override"];
  readonly #representations: WeakMap<StayPrediction, Float32Array> | null;
  /** Model steps run so far (one pass for all served tasks at one time). */
  stepRuns = 0;

  constructor(options: StepEngineOptions) {
    this.#model = options.model;
    this.#encoder = options.noteEncoder;
    this.#tasks = options.tasks;
    this.#loadImage = options.loadImage;
    this.#override = options.override;
    this.#representations = options.keepRepresentations ? new WeakMap() : null;
    for (const t of this.#tasks) this.#model.task(t);
    if (this.#encoder.spec.dim !== this.#model.manifest.note_encoder.dim) {
      throw new TypeError(
        `The note encoder gives width ${this.#encoder.spec.dim}; the model expects ${this.#model.manifest.note_encoder.dim}`,
      );
    }
    this.#version = {
      name: this.#model.name,
      version: this.#model.manifest.created_at ?? this.#model.hash.slice(0, 12),
    };
    this.#maxNoteTokens = this.#model.manifest.note_max_tokens ?? 512;
  }

  /** Encodes note text (already sectioned and normalized); `tokens` is 0 for an empty note. */
  async encodeNoteText(text: string): Promise<EncodedNote> {
    const note = await this.#exclusive(() => this.#encoder.encode(text));
    if (note.tokens <= this.#maxNoteTokens) return note;
    const tokens = this.#maxNoteTokens;
    return { tokens, dim: note.dim, data: note.data.slice(0, tokens * note.dim) };
  }

  /** Gives a freshly validated attachment its model input (so a step need not decode again). */
  async prepare(entry: AttachmentEntry, input: Float32Array | EncodedNote): Promise<void> {
    if (this.#model.staged) {
      entry.states = await this.#tower(entry, input);
      delete entry.text;
    } else {
      entry.input = input;
    }
  }

  /**
   * Runs one step per time (ascending) and returns the predictions, numbered from `nextSeq`.
   * Times at which no modality has data give nothing.
   */
  async run(
    stay: StayRuntime,
    times: readonly number[],
    options: { nextSeq: number; createdAt: string; signal?: AbortSignal },
  ): Promise<StayPrediction[]> {
    const out: StayPrediction[] = [];
    let seq = options.nextSeq;
    const model = this.#model;
    const statics = stay.statics === undefined ? {} : { statics: stay.statics };
    for (const hours of times) {
      const raw = stay.series.matrix(hours);
      const hasSeries = raw.rows > 0 && stay.firstObs <= hours + EPS;
      const timeseries = hasSeries
        ? standardize(lastRows(raw, model.manifest.timeseries.max_rows), model.normalizer)
        : null;
      const image = latestAt(stay.images, hours);
      const note = latestAt(stay.notes, hours);
      if (timeseries === null && image === undefined && note === undefined) continue;
      // A client that went away before the first step ran: drop the write (nothing is stored).
      const signal = out.length === 0 ? options.signal : undefined;
      const gate = () => {
        if (signal?.aborted) throw clientGone();
        this.stepRuns += 1;
      };
      let outputs;
      if (model.staged) {
        const staged = {
          timeseries,
          imageStates: image === undefined ? null : await this.#states(stay, image),
          noteStates: note === undefined ? null : await this.#states(stay, note),
        };
        outputs = await this.#exclusive(() => {
          gate();
          return model.step(staged, this.#tasks, statics);
        });
      } else {
        const inputs = {
          timeseries,
          image: image === undefined ? null : await this.#input(stay, image) as Float32Array,
          note: note === undefined ? null : await this.#input(stay, note) as EncodedNote,
        };
        outputs = await this.#exclusive(() => {
          gate();
          return model.predict(inputs, this.#tasks, statics);
        });
      }
      const news2 = hasSeries ? news2FromMatrix(raw).total : undefined;
      for (const modelOutput of outputs) {
        const probs = this.#override?.(modelOutput.task.code, modelOutput.representation);
        const output = probs ? { ...modelOutput, probs } : modelOutput;
        const prediction = toStayPrediction(output, {
          stayId: stay.stayId,
          seq: seq++,
          hours,
          modalities: {
            timeseries: hasSeries,
            image: image !== undefined,
            note: note !== undefined,
          },
          combinations: model.manifest.combinations,
          model: this.#version,
          backend: model.runtime.backend,
          createdAt: options.createdAt,
          ...(news2 === undefined ? {} : { news2 }),
        });
        this.#representations?.set(prediction, output.representation);
        out.push(prediction);
      }
    }
    return out;
  }

  /** The representation s_p a prediction of this engine was made from (when kept). */
  representation(prediction: StayPrediction): Float32Array | undefined {
    return this.#representations?.get(prediction);
  }

  async #input(stay: StayRuntime, entry: AttachmentEntry): Promise<Float32Array | EncodedNote> {
    if (entry.input !== undefined) return entry.input;
    let input: Float32Array | EncodedNote;
    if (entry.kind === "image") {
      const bytes = this.#loadImage(stay.stayId, entry.eventSeq);
      input = preprocessImage(
        bytes,
        entry.mediaType === undefined ? {} : { mediaType: entry.mediaType },
      );
    } else {
      input = await this.encodeNoteText(entry.text ?? "");
    }
    if (!this.#model.staged) entry.input = input;
    return input;
  }

  async #states(stay: StayRuntime, entry: AttachmentEntry): Promise<TowerStates> {
    if (entry.states !== undefined) return entry.states;
    entry.states = await this.#tower(entry, await this.#input(stay, entry));
    delete entry.text;
    return entry.states;
  }

  #tower(entry: AttachmentEntry, input: Float32Array | EncodedNote): Promise<TowerStates> {
    return this.#exclusive(() =>
      entry.kind === "image"
        ? this.#model.encodeImage(input as Float32Array)
        : this.#model.encodeNote(input as EncodedNote)
    );
  }

  /** Runs `call` after every earlier model call settled. */
  #exclusive<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(call);
    this.#queue = result.catch(() => {});
    return result;
  }
}
