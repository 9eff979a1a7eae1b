import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { main as extractMain, parseExtractArgs } from "../../src/cli/extract.ts";
import { main as importMain, parseImportArgs } from "../../src/cli/import.ts";
import { UsageError } from "../../src/cli/usage_error.ts";

Deno.test("extract/import CLI: bad flags are usage errors", async () => {
  assertThrows(() => parseExtractArgs(["--in", "a", "--out", "b"]), UsageError, "mimic");
  assertThrows(() => parseExtractArgs(["mimic", "--in", "a"]), UsageError, "--out");
  assertThrows(
    () => parseExtractArgs(["mimic", "--in", "a", "--out", "b", "--seed", "x"]),
    UsageError,
  );
  assertThrows(
    () => parseExtractArgs(["mimic", "--in", "a", "--out", "b", "--buffer-mb", "0"]),
    UsageError,
  );
  assertThrows(() => parseImportArgs(["physionet2019", "--in", "a", "--out", "b"]), UsageError);
  assertThrows(
    () => parseImportArgs(["physionet2012", "--in", "a", "--out", "b", "--sets", "a,bb"]),
    UsageError,
  );
  await assertRejects(() => extractMain(["mimic"]), UsageError);
  await assertRejects(() => importMain(["physionet2012", "--out", "x"]), UsageError);
  assertEquals(
    parseImportArgs(["physionet2012", "--in", "i", "--out", "o", "--quiet"]).progress,
    false,
  );
});

Deno.test("import CLI: runs on a one-record set and reports its time", async () => {
  const root = await Deno.makeTempDir({ prefix: "flexcare-import-cli-" });
  const log = console.log;
  const lines: string[] = [];
  try {
    await Deno.mkdir(`${root}/in/set-a`, { recursive: true });
    await Deno.writeTextFile(
      `${root}/in/set-a/1.txt`,
      "Time,Parameter,Value\n00:00,RecordID,1\n05:00,HR,80\n",
    );
    await Deno.writeTextFile(
      `${root}/in/Outcomes-a.txt`,
      "RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death\n1,1,1,4,-1,0\n",
    );
    console.log = (...args: unknown[]) => lines.push(args.join(" "));
    const code = await importMain([
      "physionet2012",
      "--in",
      `${root}/in`,
      "--out",
      `${root}/out`,
      "--quiet",
    ]);
    assertEquals(code, 0);
    assertEquals(
      lines[0],
      "physionet2012: 1 records, in-hospital mortality 0.00%; samples: ihm 1, dec 1, los 1",
    );
    assertEquals(lines.at(-1)!.startsWith("elapsed: "), true);
  } finally {
    console.log = log;
    await Deno.remove(root, { recursive: true });
  }
});
