import { assert, assertEquals, assertRejects } from "../assert.ts";
import { FlexCareModel, type TaskOutput } from "../../src/model/flexcare_model.ts";
import { tinyModel } from "../model/tiny_model.ts";

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

Deno.test({
  name: "an extra task token takes a free row: a copy of a task's token gives that task's s_p",
  fn: async () => {
    const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm" });
    try {
      const table = model.taskTable!;
      assertEquals([table.rows, table.width], [40, 16]);
      const los = model.task("los");
      const copy = table.data.slice(los.id * 16, (los.id + 1) * 16);
      const other = copy.map((v) => v + 0.5);
      const timeseries = {
        rows: 3,
        columns: 76,
        data: Float64Array.from({ length: 228 }, (_, i) => Math.sin(i)),
      };
      const tokens = [{ code: "copy", vector: copy }, { code: "other", vector: other }];
      const check = (out: TaskOutput[]) => {
        assertEquals(out.map((o) => o.task.code), ["los", "copy", "other"]);
        assertEquals(out[1]!.probs.length, 0);
        assert(out[1]!.task.id >= 0 && out[1]!.task.id !== los.id);
        assert(maxAbsDiff(out[0]!.representation, out[1]!.representation) < 1e-5);
        assert(maxAbsDiff(out[0]!.representation, out[2]!.representation) > 1e-3);
        // s_p begins with the task token's output
        assertEquals(out[2]!.representation.length, 32);
      };
      const one = await model.predict({ timeseries, image: null, note: null }, ["los"], {
        tokens,
      });
      check(one);
      const staged = await model.step(
        { timeseries, imageStates: null, noteStates: null },
        ["los"],
        { tokens },
      );
      check(staged);
      assert(maxAbsDiff(one[2]!.representation, staged[2]!.representation) < 1e-4);
      await assertRejects(
        () =>
          model.predict({ timeseries, image: null, note: null }, [], {
            tokens: [{ code: "short", vector: new Float32Array(3) }],
          }),
        TypeError,
        "has 3 values",
      );
    } finally {
      await model.close();
    }
  },
});
