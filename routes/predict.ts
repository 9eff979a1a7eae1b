/**
 * `POST /v1/predict`: a stateless one-shot prediction for any tasks of the model, every input
 * in the request (JSON, at most 1 MB; an image makes it at most 28 MB of base64):
 *
 * ```json
 * {"tasks": ["dec", "los"], "hours": 12,
 *  "observations": [{"time": 0.5, "channel": "Heart Rate", "value": 92}],
 *  "image": {"data": "<base64>", "mediaType": "image/jpeg"},
 *  "note": "Past Medical History: ..."}
 * ```
 *
 * The same feature code as the stay service builds the inputs: the observations are discretized
 * up to `hours` and standardized with the model's statistics; the image is preprocessed; the
 * note's section (past medical history; brief hospital course for `drg`) — or the whole text,
 * normalized, when the section is absent or empty — goes through the manifest's note encoder.
 * The answer is `{predictions}` in the shape of the stay predictions, without `stayId`/`seq`.
 *
 * A task may also name a fine-tuned head of the heads folder (`serve --heads DIR`): the backbone
 * runs with the head's task token and the head is applied to the representation s_p; the answer
 * has the same shape as a built-in task of its kind (binary `probability`, multi-label
 * `probabilities`, multi-class `distribution`), with the head's `labels` for multi-label and
 * multi-class heads. A refused head (another base model, unreadable, named like a built-in task)
 * gives 409 `head_refused` with the reason; an unknown name 422 `unknown_task` naming the field.
 *
 * @module
 */
import { staticsOf } from "./stays.ts";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { PredictBody } from "./schemas.ts";
import { mediaTypeOf, readJson, type RouteDeps, tooLarge, unsupportedType } from "./deps.ts";
import { checkValues } from "./observations.ts";
import type { HeadsView } from "./deps.ts";
import { ServiceError } from "../src/session/errors.ts";
import { toStayPrediction } from "../src/session/prediction.ts";
import type { StayPrediction } from "../src/session/types.ts";
import type { FlexCareModel, TaskOutput } from "../src/model/flexcare_model.ts";
import type { NoteEncoder } from "../src/features/notes/encoder.ts";
import { discretize } from "../src/features/discretizer.ts";
import { lastRows } from "../src/features/matrix.ts";
import { standardize } from "../src/features/normalizer.ts";
import { preprocessImage } from "../src/features/image/preprocess.ts";
import { extractSection, sectionForTask } from "../src/features/notes/section.ts";
import { normalizeNoteText } from "../src/features/notes/normalize.ts";
import { news2FromMatrix } from "../src/eval/news2_matrix.ts";

/**
 * A one-shot prediction: a stay prediction without stay id and sequence number; a fine-tuned
 * head's multi-label or multi-class prediction also names its labels.
 */
export type OneShotPrediction = Omit<StayPrediction, "stayId" | "seq"> & {
  readonly labels?: readonly string[];
};

function decodeBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(text)) {
    throw new ServiceError(422, "invalid_request", "image.data is not base64", {
      field: "image.data",
    });
  }
  const binary = atob(text.replace(/\s+/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function hoursOf(time: number | string, admittedAt: string | undefined, i: number): number {
  if (typeof time === "number") return time;
  if (admittedAt === undefined) {
    throw new ServiceError(
      422,
      "invalid_request",
      "ISO observation times need admittedAt (or give hours since admission)",
      { field: `observations[${i}].time` },
    );
  }
  return (Date.parse(time) - Date.parse(admittedAt)) / 3_600_000;
}

/** Runs one sample through the model's one graph (grouped by note section). */
export async function predictOnce(
  model: FlexCareModel,
  encoder: NoteEncoder,
  body: z.infer<typeof PredictBody>,
  heads?: HeadsView,
): Promise<OneShotPrediction[]> {
  const codes = body.tasks ?? model.manifest.tasks.map((t) => t.code);
  const builtIn = new Set(model.manifest.tasks.map((t) => t.code));
  const served = new Set(heads?.heads.map((h) => h.task) ?? []);
  codes.forEach((code, i) => {
    if (builtIn.has(code) || served.has(code)) return;
    const refused = heads?.refused.find((r) => r.name === code);
    if (refused !== undefined) {
      throw new ServiceError(409, "head_refused", refused.reason, { field: `tasks[${i}]` });
    }
    throw new ServiceError(
      422,
      "unknown_task",
      `The model has no task ${JSON.stringify(code)}: it has ${[...builtIn, ...served].join(", ")}`,
      { field: `tasks[${i}]` },
    );
  });
  const observations = (body.observations ?? []).map((o, i) => ({
    hours: hoursOf(o.time, body.admittedAt, i),
    channel: o.channel,
    value: o.value,
  }));
  checkValues(observations.map((o) => ({ ...o, time: o.hours })), "observations");
  observations.sort((a, b) => a.hours - b.hours);
  const hours = body.hours ?? observations.reduce((m, o) => Math.max(m, o.hours), 0);
  const raw = observations.length > 0 ? discretize(observations, hours) : null;
  const timeseries = raw === null || raw.rows === 0
    ? null
    : standardize(lastRows(raw, model.manifest.timeseries.max_rows), model.normalizer);
  const image = body.image === undefined
    ? null
    : preprocessImage(decodeBase64(body.image.data), { mediaType: body.image.mediaType });
  if (timeseries === null && image === null && body.note === undefined) {
    throw new ServiceError(
      422,
      "no_inputs",
      "Give at least one modality: observations (up to hours), an image or a note",
    );
  }
  const maxTokens = model.manifest.note_max_tokens ?? 512;
  const bySection = new Map<string, string[]>();
  for (const code of codes) {
    const section = sectionForTask(code);
    bySection.set(section, [...(bySection.get(section) ?? []), code]);
  }
  const version = {
    name: model.name,
    version: model.manifest.created_at ?? model.hash.slice(0, 12),
  };
  const news2 = raw !== null && raw.rows > 0 ? news2FromMatrix(raw).total : undefined;
  const out: OneShotPrediction[] = [];
  for (const [section, tasks] of bySection) {
    let note = null;
    if (body.note !== undefined) {
      // As the stay service does: the section, else (absent or empty) the whole note.
      const cut = extractSection(body.note, section as "past-medical-history");
      const text = cut === null || cut === "" ? normalizeNoteText(body.note) : cut;
      const encoded = await encoder.encode(text);
      const tokens = Math.min(encoded.tokens, maxTokens);
      note = tokens === 0 ? null : {
        tokens,
        dim: encoded.dim,
        data: encoded.data.subarray(0, tokens * encoded.dim),
      };
    }
    if (timeseries === null && image === null && note === null) {
      throw new ServiceError(422, "no_inputs", "The note has no words the model can read", {
        field: "note",
      });
    }
    const inputs = { timeseries, image, note };
    const builtInTasks = tasks.filter((t) => builtIn.has(t));
    const headTasks = tasks.filter((t) => !builtIn.has(t));
    const outputs: { output: TaskOutput; labels?: readonly string[] }[] = [];
    if (builtInTasks.length > 0) {
      const statics = staticsOf(body);
      for (
        const output of await model.predict(
          inputs,
          builtInTasks,
          statics === undefined ? {} : { statics },
        )
      ) outputs.push({ output });
    }
    if (headTasks.length > 0) {
      // every head task is served, so the view has a registry
      for (const p of await heads!.registry!.predict(model, inputs, headTasks)) {
        const h = p.head;
        outputs.push({
          output: {
            ...p.backbone,
            task: {
              ...p.backbone.task,
              code: h.task,
              kind: h.kind,
              outputs: h.head.outputs,
              labels: [...h.labels],
              activation: h.kind === "multiclass" ? "softmax" : "sigmoid",
            },
            probs: p.probs,
            logits: p.logits,
          },
          ...(h.kind === "binary" ? {} : { labels: h.labels }),
        });
      }
    }
    const createdAt = new Date().toISOString();
    for (const { output, labels } of outputs) {
      const { stayId: _s, seq: _q, ...p } = toStayPrediction(output, {
        stayId: "",
        seq: 0,
        hours,
        modalities: { timeseries: timeseries !== null, image: image !== null, note: note !== null },
        combinations: model.manifest.combinations,
        model: version,
        backend: model.runtime.backend,
        createdAt,
        ...(news2 === undefined ? {} : { news2 }),
      });
      out.push(labels === undefined ? p : { ...p, labels: [...labels] });
    }
  }
  const order = new Map(codes.map((c, i) => [c, i]));
  return out.sort((a, b) => order.get(a.task)! - order.get(b.task)!);
}

/** The one-shot prediction route. */
export function predictRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  const maxSize = deps.limits.json + Math.ceil(deps.limits.image * 4 / 3) + 1024;
  app.post("/v1/predict", bodyLimit({ maxSize, onError: tooLarge(maxSize) }), async (c) => {
    const type = mediaTypeOf(c);
    if (type !== "application/json") throw unsupportedType(type, ["application/json"]);
    const body = PredictBody.parse(await readJson(c));
    const model = deps.model();
    // one registry for the whole request, even if a reload swaps it meanwhile
    const heads = await deps.heads(model);
    const predictions = await predictOnce(model, await deps.noteEncoder(), body, heads);
    return c.json({ predictions });
  });
  return app;
}
