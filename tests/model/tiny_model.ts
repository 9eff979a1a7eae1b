/**
 * A small random-initialised FlexCare model exported by the PyTorch package (d = 16), with
 * parity fixtures, for tests that need real ONNX graphs. Exported once per test process;
 * tests mark themselves ignored when the system python lacks torch.
 *
 * @module
 */
const ROOT = new URL("../../", import.meta.url).pathname;

function pythonHasTorch(): boolean {
  try {
    const out = new Deno.Command("python3", {
      args: ["-c", "import torch, onnx"],
      env: { PYENV_VERSION: "system" },
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.code === 0;
  } catch {
    return false;
  }
}

/** True (and says why once) when the tiny model cannot be exported here. */
export const NO_TORCH: boolean = !pythonHasTorch();
if (NO_TORCH) console.warn("ignored: the system python3 lacks torch/onnx (.ci/run installs them)");

let exported: Promise<string> | undefined;

/** Path of the exported tiny model directory (created on first call). */
export function tinyModel(): Promise<string> {
  exported ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "flexcare-model-" });
    const out = await new Deno.Command("python3", {
      args: [
        "-m",
        "flexcare_torch.export",
        "--random-init",
        '{"d_model": 16}',
        "--out",
        dir,
        "--parity",
      ],
      env: { PYENV_VERSION: "system", PYTHONPATH: `${ROOT}models/pytorch` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) throw new Error(`export failed: ${new TextDecoder().decode(out.stderr)}`);
    return dir;
  })();
  return exported;
}
