import { assert, assertEquals } from "../assert.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", MAIN, "features", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test({
  name: "features CLI prints header and rows matching the reference, raw and standardized",
  ignore: sharedMissing("reference/features-fixtures"),
  fn: async () => {
    const dir = `${SHARED_DIR}/reference/features-fixtures`;
    for (const name of ["ep_006", "ep_010"]) {
      const expected = JSON.parse(await Deno.readTextFile(`${dir}/${name}.expected.json`));
      for (
        const [flags, key] of [[["--raw"], "raw"], [[], "standardized_ph"], [
          ["--normalizer", "ph"],
          "standardized_ph",
        ]] as const
      ) {
        const { code, stdout, stderr } = await cli(
          `${dir}/${name}.csv`,
          "--end",
          String(expected.end),
          ...flags,
        );
        assertEquals(code, 0, stderr);
        const doc = JSON.parse(stdout);
        assertEquals(doc.header, expected.header);
        assertEquals(doc.rows.length, expected[key].length);
        let worst = 0;
        doc.rows.forEach((row: number[], r: number) =>
          row.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - expected[key][r][c]))))
        );
        assert(worst <= 1e-6, `${name} ${key}: ${worst}`);
      }
    }
  },
});

Deno.test("features CLI: normalizer file, decomp statistics, and clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const episode = `${dir}/ep.csv`;
    await Deno.writeTextFile(episode, "Hours,Heart Rate\n0.5,100\n");
    const stats = {
      standardized_columns: [50],
      means: new Array(76).fill(0),
      stds: new Array(76).fill(1),
    };
    stats.means[50] = 90;
    stats.stds[50] = 5;
    await Deno.writeTextFile(`${dir}/n.json`, JSON.stringify(stats));
    const custom = await cli(episode, "--end", "1", "--normalizer", `${dir}/n.json`);
    assertEquals(custom.code, 0, custom.stderr);
    assertEquals(JSON.parse(custom.stdout).rows[0][50], 2);
    const decomp = await cli(episode, "--end", "1", "--normalizer", "decomp");
    assertEquals(decomp.code, 0);
    assertEquals(JSON.parse(decomp.stdout).rows.length, 1);

    const badEnd = await cli(episode, "--end", "soon");
    assertEquals(badEnd.code, 2);
    assert(badEnd.stderr.includes("--end"), badEnd.stderr);
    await Deno.writeTextFile(episode, "Hours,Heart Rate\n0.5,fast\n");
    const badValue = await cli(episode, "--end", "1");
    assertEquals(badValue.code, 1);
    assert(
      badValue.stderr.includes("ep.csv:2") && badValue.stderr.includes('"fast"'),
      badValue.stderr,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
