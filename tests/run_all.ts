/**
 * Runs every test suite of the project (Deno tests with doc examples, then the Python model
 * tests when the system interpreter has PyTorch) and ends with one summary line
 * `N passed, N failed, N skipped` summing all suites. Exits non-zero when any suite fails.
 *
 * @module
 */

interface SuiteResult {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  code: number;
}

async function runSuite(
  name: string,
  cmd: string,
  args: string[],
  parse: (output: string) => Omit<SuiteResult, "name" | "code">,
  env: Record<string, string> = {},
  timeoutMinutes = 30,
): Promise<SuiteResult> {
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // A hung test must not hang CI: stop the suite after its time budget.
  const watchdog = setTimeout(() => {
    console.error(`\n=== ${name}: no result after ${timeoutMinutes} minutes, stopping it`);
    child.kill("SIGKILL");
  }, timeoutMinutes * 60_000);
  const decoder = new TextDecoder();
  let output = "";
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    output += text;
    await Deno.stdout.write(chunk);
  }
  const { code } = await child.status;
  clearTimeout(watchdog);
  const counts = parse(output);
  // A suite that crashed before reporting counts as one failure.
  if (code !== 0 && counts.failed === 0) counts.failed = 1;
  return { name, code, ...counts };
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Parses Deno's closing line: `ok | 12 passed (3 steps) | 0 failed | 1 ignored (…)`. */
export function parseDenoSummary(output: string): Omit<SuiteResult, "name" | "code"> {
  const lines = stripAnsi(output).split("\n").filter((l) => /^(ok|FAILED) \|/.test(l));
  const last = lines.at(-1) ?? "";
  const num = (re: RegExp) => Number(last.match(re)?.[1] ?? 0);
  return {
    passed: num(/(\d+) passed/),
    failed: num(/(\d+) failed/),
    skipped: num(/(\d+) ignored/),
  };
}

/** Parses pytest's closing line: `==== 5 passed, 1 skipped in 1.23s ====`. */
export function parsePytestSummary(output: string): Omit<SuiteResult, "name" | "code"> {
  const lines = stripAnsi(output).split("\n").filter((l) => /^=+ .* in [\d.]+s/.test(l));
  const last = lines.at(-1) ?? "";
  const num = (re: RegExp) => Number(last.match(re)?.[1] ?? 0);
  return {
    passed: num(/(\d+) passed/),
    failed: num(/(\d+) failed/) + num(/(\d+) errors?/),
    skipped: num(/(\d+) skipped/),
  };
}

async function hasPythonTorch(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("python3", {
      args: ["-c", "import torch, onnx, pytest"],
      env: { PYENV_VERSION: "system" },
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const results: SuiteResult[] = [];
  const deno = Deno.execPath();
  results.push(
    await runSuite("deno", deno, [
      "test",
      "-A",
      "--doc",
      "--parallel",
      "tests/",
      "src/",
      "routes/",
      "mod.ts",
    ], parseDenoSummary),
  );
  const pyTests = "models/pytorch/tests";
  const hasPyTests = await Deno.stat(pyTests).then(() => true, () => false);
  if (hasPyTests) {
    if (await hasPythonTorch()) {
      results.push(
        await runSuite("python", "python3", ["-m", "pytest", "-q", pyTests], parsePytestSummary, {
          PYENV_VERSION: "system",
        }),
      );
    } else {
      console.log(
        `\n=== python: skipped (system python3 lacks torch/onnx/pytest; .ci/run installs them)`,
      );
    }
  }
  const sum = (k: "passed" | "failed" | "skipped") => results.reduce((a, r) => a + r[k], 0);
  console.log();
  for (const r of results) {
    console.log(`${r.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  }
  console.log(`${sum("passed")} passed, ${sum("failed")} failed, ${sum("skipped")} skipped`);
  return results.some((r) => r.code !== 0 || r.failed > 0) ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}
