/**
 * Fine-tuned heads served without a restart: a real `serve()` on loopback with the tiny model,
 * a head trained by `deno task finetune` on it, `POST /v1/models/reload`, `/v1/predict` for the
 * new task, and a head built on another base model refused with a clear error.
 */
import { assert, assertEquals } from "../assert.ts";
import { tinyModel } from "../model/tiny_model.ts";
import { writeSyntheticDataset } from "../../src/data/synth/write_dataset.ts";
import { main as finetune } from "../../src/cli/finetune.ts";
import { parseServeArgs } from "../../src/cli/serve.ts";
import { serveOnLoopback } from "./helpers.ts";
import { HeadStore } from "../../routes/deps.ts";
import { createApp } from "../../routes/app.ts";
import { createLogger } from "../../routes/logger.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";

/** A new binary task "copd" from the synthetic DRG notes: notes only, label = mentions copd. */
async function noteOnlyTask(data: string): Promise<void> {
  await Deno.mkdir(`${data}/copd`);
  for (const split of ["train", "val", "test"]) {
    const lines = (await Deno.readTextFile(`${data}/drg/${split}_multimodal_listfile.csv`))
      .trim().split("\n").slice(1);
    const rows = lines.map((l) => l.split(",")).filter((f) => f[5] !== "").map((f) =>
      `${f[0]},${f[1]},,,,${f[5]},${/copd|pulmonary|pneumonia/.test(f[5]!) ? 1 : 0}`
    );
    await Deno.writeTextFile(
      `${data}/copd/${split}_multimodal_listfile.csv`,
      ["subject_id,stay_id,stay,period_length,dicom_id,note,y_true", ...rows].join("\n") + "\n",
    );
  }
}

/** Copies a head under another task name, optionally claiming another base model. */
async function copyHead(
  from: string,
  toDir: string,
  task: string,
  baseHash?: string,
): Promise<void> {
  const json = JSON.parse(await Deno.readTextFile(from));
  json.task = task;
  if (baseHash !== undefined) json.base_model.hash = baseHash;
  await Deno.mkdir(`${toDir}/${task}`, { recursive: true });
  await Deno.writeTextFile(`${toDir}/${task}/head.json`, JSON.stringify(json));
}

async function post(url: string, body?: unknown) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

const NOTE = "Past Medical History: COPD, pulmonary fibrosis, hypertension. Chest pain.";

Deno.test({
  name: "serve --heads: a new task after POST /v1/models/reload, another base model refused",
  fn: async () => {
    const model = await tinyModel();
    const dir = await Deno.makeTempDir({ prefix: "flexcare-heads-" });
    try {
      // a binary head (copd) and a multi-class one (drg) trained on the tiny model
      const data = `${dir}/data`;
      await writeSyntheticDataset({ outDir: data, stays: 30, seed: 5, imageSize: 256 });
      await noteOnlyTask(data);
      const out = `${dir}/out`;
      for (const task of ["copd", "drg"]) {
        const code = await finetune([
          "--task",
          task,
          "--data",
          data,
          "--model",
          model,
          "--epochs",
          "5",
          "--out",
          out,
          "--no-baselines",
          "--quiet",
        ]);
        assertEquals(code, 0);
      }

      const heads = `${dir}/heads`;
      const server = await serveOnLoopback({ model, data: `${dir}/service`, heads });
      try {
        const url = `http://127.0.0.1:${server.port}`;
        await server.ready;

        // before the head exists: an unknown task, naming the field
        const before = await post(`${url}/v1/predict`, { tasks: ["copd"], note: NOTE });
        assertEquals([before.status, before.json.error, before.json.field], [
          422,
          "unknown_task",
          "tasks[0]",
        ]);
        let models = (await (await fetch(`${url}/v1/models`)).json()).models[0];
        assertEquals([models.heads, models.refusedHeads], [[], []]);

        // new heads appear in the folder; nothing changes until the reload
        await copyHead(`${out}/heads/copd/head.json`, heads, "copd");
        await copyHead(`${out}/heads/drg/head.json`, heads, "localdrg");
        await copyHead(`${out}/heads/copd/head.json`, heads, "ihm"); // a built-in task's name
        await copyHead(`${out}/heads/copd/head.json`, heads, "elsewhere", "0".repeat(64));
        assertEquals(
          (await post(`${url}/v1/predict`, { tasks: ["copd"], note: NOTE })).status,
          422,
        );

        const reload = await post(`${url}/v1/models/reload`);
        assertEquals(reload.status, 200);
        assertEquals(reload.json.heads.map((h: { task: string; kind: string }) => h.kind), [
          "binary",
          "multiclass",
        ]);
        assertEquals(reload.json.heads.map((h: { task: string }) => h.task), ["copd", "localdrg"]);
        assert(!("weights" in reload.json.heads[0]), "no weights in listings");
        assertEquals(
          reload.json.refused.map((r: { name: string }) => r.name),
          ["elsewhere", "ihm"],
        );
        const elsewhere = reload.json.refused[0].reason as string;
        assert(
          elsewhere.includes("was trained on base model 000000000000, not on the loaded model"),
          elsewhere,
        );
        assert(reload.json.refused[1].reason.includes("built-in task"));

        models = (await (await fetch(`${url}/v1/models`)).json()).models[0];
        assertEquals(models.heads.map((h: { task: string }) => h.task), ["copd", "localdrg"]);
        assertEquals(models.refusedHeads, reload.json.refused);

        // the new tasks answer in the shape of built-in tasks, next to a built-in one
        const after = await post(`${url}/v1/predict`, {
          tasks: ["copd", "ihm", "localdrg"],
          note: NOTE,
        });
        assertEquals(after.status, 200, JSON.stringify(after.json));
        const [copd, ihm, localdrg] = after.json.predictions;
        assertEquals([copd.task, ihm.task, localdrg.task], ["copd", "ihm", "localdrg"]);
        assert(copd.probability > 0 && copd.probability < 1, JSON.stringify(copd));
        assertEquals(copd.labels, undefined);
        assertEquals(copd.modalities, { timeseries: false, image: false, note: true });
        assertEquals(typeof ihm.probability, "number");
        assertEquals(localdrg.distribution.length, localdrg.labels.length);
        assert(Math.abs(localdrg.distribution.reduce((a: number, b: number) => a + b) - 1) < 1e-4);
        assertEquals(localdrg.labels, reload.json.heads[1].labels);

        // refused heads: 409 with the reason
        const refused = await post(`${url}/v1/predict`, { tasks: ["elsewhere"], note: NOTE });
        assertEquals([refused.status, refused.json.error, refused.json.field], [
          409,
          "head_refused",
          "tasks[0]",
        ]);
        assertEquals(refused.json.detail, elsewhere);
        // "ihm" is still the built-in task
        const builtIn = await post(`${url}/v1/predict`, { tasks: ["ihm"], note: NOTE });
        assertEquals(builtIn.json.predictions[0].probability, ihm.probability);

        // removing a head and reloading stops serving it
        await Deno.remove(`${heads}/copd`, { recursive: true });
        assertEquals(
          (await post(`${url}/v1/models/reload`)).json.heads.map((h: { task: string }) => h.task),
          ["localdrg"],
        );
        assertEquals(
          (await post(`${url}/v1/predict`, { tasks: ["copd"], note: NOTE })).status,
          422,
        );
      } finally {
        await server.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "heads: a reload swaps the registry atomically; no heads folder answers 409",
  fn: async () => {
    const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm", offThread: true });
    const dir = await Deno.makeTempDir({ prefix: "flexcare-heads-" });
    try {
      const log = createLogger("silent");
      const store = new HeadStore(dir, log);
      const first = await store.current(model);
      assert(first !== null);
      assertEquals(first.names(), []);
      // the registry a request already holds is not changed by a reload
      const [a, b] = await Promise.all([store.reload(model), store.reload(model)]);
      assert(a !== first && b !== first);
      assertEquals(first.names(), []);
      assertEquals(await store.current(model), b, "the last reload wins");
      const app = createApp({ model, log, rateLimit: false });
      const res = await app.request("/v1/models/reload", { method: "POST" });
      assertEquals([res.status, (await res.json()).error], [409, "no_heads_folder"]);
      const models = await (await app.request("/v1/models")).json();
      assertEquals([models.models[0].heads, models.models[0].refusedHeads], [[], []]);
    } finally {
      await model.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serve --heads DIR is parsed; absent, the server uses <data>/heads", () => {
  assertEquals(parseServeArgs(["--heads", "/srv/heads"]).heads, "/srv/heads");
  assertEquals(parseServeArgs([]).heads, undefined);
});
