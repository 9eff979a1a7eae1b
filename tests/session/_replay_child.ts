/**
 * The child process of the SIGKILL durability test: opens the stay service on a data folder
 * and runs the replay from the top, printing `ack <key>` after each write returned, then
 * `done`. Arguments: model folder (or `fake` for the fast stand-in), data folder.
 *
 * @module
 */
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import type { SessionModel } from "../../src/session/engine.ts";
import { createStayService } from "../../src/session/service.ts";
import { runReplay } from "./_replay_script.ts";
import { fakeModel } from "./_fake_model.ts";

const [modelDir, dataDir] = Deno.args;
if (modelDir === undefined || dataDir === undefined) {
  console.error("usage: _replay_child.ts MODEL_DIR DATA_DIR");
  Deno.exit(2);
}
const encoder = new TextEncoder();
const say = (line: string) => {
  const bytes = encoder.encode(`${line}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
};
const model: SessionModel = modelDir === "fake"
  ? fakeModel()
  : await FlexCareModel.load(modelDir, { backend: "wasm", offThread: true });
// Two resident stays for three: reloads from the log happen during the replay too.
const service = await createStayService({
  dataDir,
  model,
  maxResidentStays: 2,
  sweepIntervalMs: 0,
});
say("ready");
await runReplay(service, (key) => say(`ack ${key}`));
await service.close();
if (model instanceof FlexCareModel) await model.close();
say("done");
