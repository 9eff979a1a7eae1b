/**
 * The training tensor writer: a dataset in the reference layout to the tensor store the
 * PyTorch trainer reads (`models/tensor_store.md`). This is the only feature implementation:
 * time series, images and notes go through the same code the service uses.
 *
 * Written streaming: samples are read one at a time, arrays go straight into bounded `.npy`
 * shards, and only small per-image / per-note references are kept to share tensors between
 * samples, so memory stays bounded whatever the dataset size.
 *
 * @module
 */
import { imagePath, predictionTime, readEpisode, readSamples, type Sample } from "../dataset.ts";
import { Progress } from "../extract/progress.ts";
import { hashString32, seededRandom } from "../random.ts";
import { getTask, SPLITS, type TaskInfo } from "../tasks.ts";
import { discretize } from "../../features/discretizer.ts";
import { REFERENCE_CONFIG } from "../../features/discretizer_config.ts";
import { IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD } from "../../features/image/constants.ts";
import { preprocessImage } from "../../features/image/preprocess.ts";
import { lastRows } from "../../features/matrix.ts";
import {
  type Normalizer,
  NORMALIZER_PH,
  normalizerToJson,
  standardize,
} from "../../features/normalizer.ts";
import { MAX_NOTE_TOKENS, type NoteEncoder } from "../../features/notes/encoder.ts";
import { ShardedNpyWriter, type ShardRef } from "./npy.ts";

/** Rows of the time series a sample keeps (the reference model reads the last 512). */
export const MAX_TIMESERIES_ROWS = 512;

/** Options for {@linkcode tensorize}. */
export interface TensorizeOptions {
  /** Dataset folder in the reference layout. */
  data: string;
  /** Output store folder (created; existing store files are replaced). */
  out: string;
  /** The note encoder (its spec is recorded in `store.json`). */
  noteEncoder: NoteEncoder;
  /**
   * Task codes to write.
   * @default {all seven}
   */
  tasks?: readonly string[];
  /**
   * Augmented copies of each training image (random flip and affine).
   * @default {0}
   */
  augment?: number;
  /**
   * Seed of the augmentation draws.
   * @default {0}
   */
  seed?: number;
  /**
   * Standardization statistics.
   * @default {NORMALIZER_PH}
   */
  normalizer?: Normalizer;
  /**
   * Maximum bytes of one shard.
   * @default {268435456}
   */
  shardBytes?: number;
  /**
   * Draw a progress bar on stderr.
   * @default {true}
   */
  progress?: boolean;
  /** Free-form description of the source recorded in `store.json`. */
  source?: Record<string, unknown>;
}

/** What {@linkcode tensorize} wrote. */
export interface TensorizeSummary {
  /** Samples per `<task>/<split>`. */
  splits: Record<string, number>;
  images: number;
  notes: number;
  timeseriesRows: number;
  seconds: number;
}

interface ImageRef {
  shard: number;
  index: number;
  augmented: { shard: number; index: number }[];
}

interface NoteRef {
  shard: number;
  start: number;
  tokens: number;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A line writer with a small buffer (index files can be long). */
class LineWriter {
  #file: Deno.FsFile;
  #buffer: string[] = [];
  #size = 0;
  constructor(file: Deno.FsFile) {
    this.#file = file;
  }
  static async create(path: string): Promise<LineWriter> {
    return new LineWriter(await Deno.open(path, { write: true, create: true, truncate: true }));
  }
  async write(line: string): Promise<void> {
    this.#buffer.push(line);
    this.#size += line.length;
    if (this.#size > 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    const bytes = new TextEncoder().encode(this.#buffer.map((l) => l + "\n").join(""));
    let offset = 0;
    while (offset < bytes.length) offset += await this.#file.write(bytes.subarray(offset));
    this.#buffer = [];
    this.#size = 0;
  }
  async close(): Promise<void> {
    await this.flush();
    this.#file.close();
  }
}

async function countLines(path: string): Promise<number> {
  let count = 0;
  const file = await Deno.open(path);
  for await (const chunk of file.readable) for (const b of chunk) if (b === 10) count++;
  return count;
}

/**
 * Writes the tensor store for a dataset.
 *
 * @example Tensorize a synthetic cohort
 * ```ts ignore
 * import { tensorize } from "./tensorize.ts";
 * import { createNoteEncoder } from "../../features/notes/create_encoder.ts";
 * import { DEFAULT_NOTE_ENCODER } from "../../features/notes/encoder.ts";
 * const noteEncoder = await createNoteEncoder(DEFAULT_NOTE_ENCODER);
 * await tensorize({ data: "/tmp/s", out: "/tmp/store", noteEncoder });
 * ```
 */
export async function tensorize(options: TensorizeOptions): Promise<TensorizeSummary> {
  const started = performance.now();
  const tasks: TaskInfo[] = (options.tasks ?? ["ihm", "dec", "phe", "los", "rea", "dia", "drg"])
    .map((t) => getTask(t));
  const augment = options.augment ?? 0;
  if (!Number.isInteger(augment) || augment < 0) {
    throw new RangeError(`--augment must be a non-negative integer, got ${augment}`);
  }
  const normalizer = options.normalizer ?? NORMALIZER_PH;
  const encoder = options.noteEncoder;
  const dim = encoder.spec.dim;
  const shardBytes = options.shardBytes ?? 256 * 1024 * 1024;
  await Deno.mkdir(options.out, { recursive: true });

  const ts = new ShardedNpyWriter(options.out, "ts", [REFERENCE_CONFIG.columns], {
    maxBytes: shardBytes,
  });
  const img = new ShardedNpyWriter(options.out, "img", [3, IMAGE_SIZE, IMAGE_SIZE], {
    maxBytes: shardBytes,
  });
  const notes = new ShardedNpyWriter(options.out, "note", [dim], { maxBytes: shardBytes });
  const images = new Map<string, ImageRef>();
  const noteRefs = new Map<string, NoteRef | null>();
  const splits: Record<string, number> = {};
  const taskInfo: Record<string, unknown> = {};
  let timeseriesRows = 0;

  const writeImage = async (dicomId: string, sample: Sample, copies: number): Promise<ImageRef> => {
    let ref = images.get(dicomId);
    let bytes: Uint8Array | undefined;
    const read = async () => {
      try {
        return bytes ??= await Deno.readFile(imagePath(options.data, dicomId));
      } catch (error) {
        throw new Error(
          `${sample.origin}: cannot read image ${JSON.stringify(dicomId)}: ${
            (error as Error).message
          }`,
          {
            cause: error,
          },
        );
      }
    };
    if (ref === undefined) {
      const tensor = preprocessImage(await read());
      const at = await img.append(tensor);
      ref = { shard: at.shard, index: at.start, augmented: [] };
      images.set(dicomId, ref);
    }
    for (let k = ref.augmented.length; k < copies; k++) {
      const rng = seededRandom(
        (hashString32(dicomId) ^ Math.imul(options.seed ?? 0, 0x9e3779b1) ^
          Math.imul(k + 1, 0x85ebca6b)) >>> 0,
      );
      const at = await img.append(preprocessImage(await read(), { augment: { rng } }));
      ref.augmented.push({ shard: at.shard, index: at.start });
    }
    return ref;
  };

  const writeNote = async (text: string): Promise<NoteRef | null> => {
    const key = await sha256(text);
    if (noteRefs.has(key)) return noteRefs.get(key)!;
    const encoded = await encoder.encode(text);
    let ref: NoteRef | null = null;
    if (encoded.tokens > 0) {
      const tokens = Math.min(encoded.tokens, MAX_NOTE_TOKENS);
      const at: ShardRef = await notes.append(encoded.data.subarray(0, tokens * dim));
      ref = { shard: at.shard, start: at.start, tokens };
    }
    noteRefs.set(key, ref);
    return ref;
  };

  for (const task of tasks) {
    await Deno.mkdir(`${options.out}/${task.code}`, { recursive: true });
    let maxClass = -1;
    for (const split of SPLITS) {
      const listfile = `${options.data}/${task.folder}/${split}_multimodal_listfile.csv`;
      const total = Math.max(0, (await countLines(listfile)) - 1);
      const bar = new Progress(`${task.code}/${split}`, total, {
        enabled: options.progress ?? true,
        unit: "samples",
      });
      const index = await LineWriter.create(`${options.out}/${task.code}/${split}.jsonl`);
      let count = 0;
      for await (const sample of readSamples(options.data, task, split)) {
        let tsRef: { shard: number; start: number; rows: number } | null = null;
        if (sample.episode !== null) {
          const observations = await readEpisode(options.data, sample.episode);
          const end = predictionTime(sample, observations);
          const matrix = lastRows(
            standardize(discretize(observations, end), normalizer),
            MAX_TIMESERIES_ROWS,
          );
          if (matrix.rows > 0) {
            const at = await ts.append(Float32Array.from(matrix.data));
            tsRef = { shard: at.shard, start: at.start, rows: matrix.rows };
            timeseriesRows += matrix.rows;
          }
        }
        const imageRef = sample.dicomId === null
          ? null
          : await writeImage(sample.dicomId, sample, split === "train" ? augment : 0);
        const noteRef = sample.note === null ? null : await writeNote(sample.note);
        if (tsRef === null && imageRef === null && noteRef === null) {
          throw new Error(
            `${sample.origin}: sample has no usable modality (empty time series and note, no image)`,
          );
        }
        if (task.kind === "multiclass") maxClass = Math.max(maxClass, sample.labels[0]!);
        await index.write(JSON.stringify({
          task: task.code,
          task_id: task.id,
          subject_id: sample.subjectId,
          stay_id: sample.stayId,
          time: sample.time,
          ts: tsRef,
          image: imageRef === null ? null : {
            shard: imageRef.shard,
            index: imageRef.index,
            augmented: split === "train" ? imageRef.augmented.slice(0, augment) : [],
          },
          note: noteRef,
          labels: sample.labels,
        }));
        count++;
        bar.update(count);
      }
      await index.close();
      bar.finish();
      splits[`${task.code}/${split}`] = count;
    }
    const classes = task.kind !== "multiclass"
      ? []
      : task.classNames.length > 0
      ? [...task.classNames]
      : Array.from({ length: maxClass + 1 }, (_, i) => String(i));
    taskInfo[task.code] = {
      id: task.id,
      kind: task.kind,
      labels: task.kind === "multiclass" ? 1 : task.labelColumns.length,
      label_names: task.kind === "multiclass" ? classes : [...task.labelColumns],
      classes,
    };
  }
  await Promise.all([ts.close(), img.close(), notes.close()]);

  const store = {
    format: "flexcare-tensor-store",
    version: 1,
    created_by: "flexcare tensorize 0.1.0",
    source: { data: options.data, ...(options.source ?? {}) },
    timeseries: {
      columns: REFERENCE_CONFIG.columns,
      max_rows: MAX_TIMESERIES_ROWS,
      header: [...REFERENCE_CONFIG.header],
      normalizer: normalizerToJson(normalizer),
    },
    image: {
      shape: [3, IMAGE_SIZE, IMAGE_SIZE],
      mean: [...IMAGENET_MEAN],
      std: [...IMAGENET_STD],
      augment,
    },
    note: { encoder: encoder.spec, max_tokens: MAX_NOTE_TOKENS },
    tasks: taskInfo,
    splits,
    shards: { timeseries: ts.files, images: img.files, notes: notes.files },
  };
  await Deno.writeTextFile(`${options.out}/store.json`, JSON.stringify(store, null, 1) + "\n");
  return {
    splits,
    images: images.size,
    notes: [...noteRefs.values()].filter((r) => r !== null).length,
    timeseriesRows,
    seconds: (performance.now() - started) / 1000,
  };
}
