import { assert, assertEquals, assertNotEquals, maxAbsDiff } from "../assert.ts";
import { createApp } from "../../routes/app.ts";
import { createLogger } from "../../routes/logger.ts";
import { applyLinearHead } from "../../src/finetune/linear_head.ts";
import { activate } from "../../src/model/calibration.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import { encodeStatics, type StaticsSpec, type StayStatics } from "../../src/model/statics.ts";
import { servedHeads } from "../../src/online/open.ts";
import { hourOfVitals, openService, prng, removeDir } from "../session/_helpers.ts";
import { tinyModelCopy } from "./tiny_model.ts";

const SPEC: StaticsSpec = { units: ["CCU", "MICU", "SICU"], ageCenter: 65, ageScale: 15 };
const T_IHM = 1.5;

/** A copy of the tiny model with statics heads for ihm, dec and los (random weights). */
async function staticsModel(): Promise<string> {
  const dir = await tinyModelCopy("flexcare-statics-");
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  const width = 2 * manifest.config.d_model + SPEC.units.length + 5;
  let s = 7;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const head = (outputs: number) => ({
    weights: Array.from({ length: outputs * width }, () => rand()),
    bias: Array.from({ length: outputs }, () => rand() * 0.1),
  });
  manifest.statics = { spec: SPEC, heads: { ihm: head(1), dec: head(1), los: head(10) } };
  manifest.calibration = { method: "temperature", tasks: { ihm: { temperature: T_IHM } } };
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
  return dir;
}

Deno.test({
  name:
    "statics heads: [s_p || unit, age, sex] in the one graph, batches and the step; served heads agree",
  async fn() {
    const dir = await staticsModel();
    const model = await FlexCareModel.load(dir, { backend: "wasm" });
    const plain = await FlexCareModel.load(dir, {
      backend: "wasm",
      statics: false,
      calibrated: false,
    });
    try {
      assertNotEquals(model.hash, plain.hash, "the heads are part of what the model serves");
      const sp = 2 * Number(model.manifest.config["d_model"]);
      assertEquals(model.representationWidth, sp + 8);
      const rand = prng(3);
      const rows = 6;
      const timeseries = {
        rows,
        columns: 76,
        data: Float64Array.from({ length: rows * 76 }, () => rand() * 2 - 1),
      };
      const inputs = { timeseries, image: null, note: null };
      const tasks = ["ihm", "dec", "los", "phe"];
      const woman: StayStatics = { unit: "MICU", age: 80, sex: "F" };
      const expected = async (statics: StayStatics | undefined) => {
        const base = await plain.predict(inputs, tasks);
        return base.map((o) => {
          const head = model.manifest.statics!.heads[o.task.code];
          if (head === undefined) return activate(o.task.kind, o.logits);
          const x = [...o.representation, ...encodeStatics(SPEC, statics)];
          const z = Array.from(
            { length: o.task.outputs },
            (_, k) =>
              head.bias[k]! + x.reduce((a, v, i) => a + v * head.weights[k * x.length + i]!, 0),
          );
          const t = o.task.code === "ihm" ? T_IHM : 1;
          return activate(o.task.kind, z.map((v) => v / t));
        });
      };
      const forWoman = await expected(woman);
      const forUnknown = await expected(undefined);
      const noteless = { timeseries, imageStates: null, noteStates: null };
      const paths = {
        predict: await model.predict(inputs, tasks, { statics: woman }),
        batch:
          (await model.predictBatch([inputs, inputs], tasks, { statics: [undefined, woman] }))[1]!,
        step: await model.step(noteless, tasks, { statics: woman }),
      };
      for (const [path, outputs] of Object.entries(paths)) {
        outputs.forEach((o, k) => {
          assertEquals(o.representation.length, sp + 8);
          const d = maxAbsDiff(o.probs, forWoman[k]!);
          assert(d < 1e-5, `${path} ${o.task.code}: ${d}`);
        });
      }
      const unknown = await model.predict(inputs, tasks);
      unknown.forEach((o, k) => assert(maxAbsDiff(o.probs, forUnknown[k]!) < 1e-5, o.task.code));
      assert(
        maxAbsDiff(unknown[0]!.probs, forWoman[0]!) > 1e-3,
        "the statics change the prediction",
      );
      // A unit the spec does not know encodes as an unknown unit.
      const other = await model.predict(inputs, ["ihm"], { statics: { ...woman, unit: "NICU" } });
      const noUnit = await model.predict(inputs, ["ihm"], { statics: { age: 80, sex: "F" } });
      assertEquals(other[0]!.probs, noUnit[0]!.probs);
      // The online learner's heads: the statics head for ihm/dec/los, the graph's head (zero
      // weights on the statics) for phe, each giving what the model serves.
      const heads = await servedHeads(
        model,
        model.manifest.tasks.filter((t) => tasks.includes(t.code)),
        "flexcare.onnx",
      );
      for (const o of paths.predict) {
        const d = maxAbsDiff(
          applyLinearHead(heads.get(o.task.code)!, o.representation).probs,
          o.probs,
        );
        assert(d < 1e-5, `served head ${o.task.code}: ${d}`);
      }
    } finally {
      await model.close();
      await plain.close();
      await removeDir(dir);
    }
  },
});

Deno.test({
  name:
    "statics at admission: stored in the log, used at every step and after a restart; bad values are 422s naming the field",
  async fn() {
    const dir = await staticsModel();
    const model = await FlexCareModel.load(dir, { backend: "wasm", offThread: true });
    const { service, dataDir } = await openService({ model });
    let reopened: Awaited<ReturnType<typeof openService>>["service"] | undefined;
    try {
      const admittedAt = "2024-03-01T08:00:00.000Z";
      const woman = { unit: "MICU", age: 80, sex: "F" as const };
      await service.admit("with", { admittedAt, statics: woman });
      await service.admit("without", { admittedAt });
      const feed = async (svc: typeof service, stay: string, hour: number) => {
        const r = await svc.addObservations(stay, hourOfVitals(hour, prng(100 + hour)));
        return r.predictions.filter((p) => p.task === "dec").map((p) => p.probability!);
      };
      for (const h of [0, 1]) {
        await feed(service, "with", h);
        await feed(service, "without", h);
      }
      const a = await feed(service, "with", 2);
      const b = await feed(service, "without", 2);
      assertEquals([a.length, b.length], [1, 1]);
      assertNotEquals(a[0], b[0], "the stay's statics reach the dec head");
      await service.close();
      // After a restart the statics come back from the log.
      reopened = (await openService({ model, dataDir })).service;
      await reopened.admit("fresh", { admittedAt, statics: woman });
      for (const h of [0, 1, 2]) await feed(reopened, "fresh", h);
      const fromLog = await feed(reopened, "with", 3);
      const fresh = await feed(reopened, "fresh", 3);
      assertEquals(fromLog, fresh);
      // HTTP: the fields are checked and named.
      const app = createApp({
        service: reopened,
        log: createLogger("error", () => {}),
        rateLimit: false,
        model,
      });
      const post = async (path: string, body: unknown) => {
        const res = await app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return { status: res.status, json: await res.json() };
      };
      for (
        const [body, field] of [[{ age: 200 }, "age"], [{ sex: "X" }, "sex"], [
          { unit: "M I" },
          "unit",
        ]] as const
      ) {
        const r = await post("/v1/stays", { stayId: `bad-${field}`, ...body });
        assertEquals([r.status, r.json.field], [422, field], JSON.stringify(r.json));
      }
      assertEquals((await post("/v1/stays", { stayId: "http", ...woman })).status, 201);
      const p1 = await post("/v1/predict", {
        tasks: ["ihm"],
        observations: hourOfVitals(0, prng(1)),
        ...woman,
      });
      const p0 = await post("/v1/predict", {
        tasks: ["ihm"],
        observations: hourOfVitals(0, prng(1)),
      });
      assertEquals([p1.status, p0.status], [200, 200]);
      assertNotEquals(p1.json.predictions[0].probability, p0.json.predictions[0].probability);
    } finally {
      await reopened?.close().catch(() => {});
      await service.close().catch(() => {});
      await model.close();
      await removeDir(dataDir);
      await removeDir(dir);
    }
  },
});
