/**
 * The tiny random-initialised FlexCare model (d = 16, seed 0) committed under
 * `tests/fixtures/tiny_model/` with compact parity fixtures, for tests that need real ONNX
 * graphs. It needs no Python: `models/pytorch/tools/make_test_model.sh` wrote it, and the Python
 * suite (`models/pytorch/tests/test_test_model.py`) re-runs that script when PyTorch is present
 * and fails when the committed files are not current.
 *
 * @module
 */
const FIXTURE = new URL("../fixtures/tiny_model/", import.meta.url).pathname;

let copied: Promise<string> | undefined;

/**
 * Path of a private copy of the committed tiny model (made on first call per test process and
 * removed when it ends), so that a test that writes into its model directory never changes the
 * fixture.
 */
export function tinyModel(): Promise<string> {
  copied ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "flexcare-model-" });
    // Removed when the test process ends, so runs leave no copies behind.
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
    await copyTree(FIXTURE, dir);
    return dir;
  })();
  return copied;
}

/** A fresh copy of the committed tiny model in a new temporary folder (the caller removes it). */
export async function tinyModelCopy(prefix = "flexcare-model-copy-"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await copyTree(FIXTURE, dir);
  return dir;
}

async function copyTree(from: string, to: string): Promise<void> {
  for await (const e of Deno.readDir(from)) {
    const src = `${from}/${e.name}`, dst = `${to}/${e.name}`;
    if (e.isDirectory) {
      await Deno.mkdir(dst);
      await copyTree(src, dst);
    } else {
      await Deno.copyFile(src, dst);
    }
  }
}
