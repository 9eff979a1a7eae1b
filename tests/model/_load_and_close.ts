// Loads a model in a worker, runs it once and closes it: the process must then exit by itself.
import { FlexCareModel } from "../../src/model/flexcare_model.ts";

const model = await FlexCareModel.load(Deno.args[0]!, { backend: "wasm", offThread: true });
await model.warmUp();
await model.close();
console.log("closed");
