import { assertEquals, assertThrows } from "../assert.ts";
import { CsvSyntaxError, parseCsv, readCsvFile, readCsvRecords } from "../../src/data/csv.ts";

Deno.test("parseCsv handles quotes, doubled quotes, embedded commas and line breaks, CRLF", () => {
  const text = 'a,b,c\r\n"x, y","say ""hi""","two\nlines"\r\n,,\n\nlast,1,2';
  const records = parseCsv(text);
  assertEquals(records.map((r) => r.fields), [
    ["a", "b", "c"],
    ["x, y", 'say "hi"', "two\nlines"],
    ["", "", ""],
    ["last", "1", "2"],
  ]);
  assertEquals(records.map((r) => r.line), [1, 2, 4, 6]);
});

Deno.test("parseCsv rejects malformed quoting with file and line", () => {
  const a = assertThrows(() => parseCsv('a\n"open', { source: "f.csv" }), CsvSyntaxError);
  assertEquals([a.source, a.line], ["f.csv", 2]);
  assertThrows(() => parseCsv('a\nb"c\n', { source: "f.csv" }), CsvSyntaxError, "f.csv:2");
  assertThrows(
    () => parseCsv('"a"b\n', { source: "f.csv" }),
    CsvSyntaxError,
    "after a closing quote",
  );
});

Deno.test("readCsvRecords gives the same records whatever the chunking", async () => {
  const text = 'h1,h2\n"multi\nline, quoted",2\n3,"4"""\n';
  const expected = parseCsv(text);
  const bytes = new TextEncoder().encode(text);
  for (const size of [1, 2, 3, 7, 64]) {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
        controller.close();
      },
    });
    assertEquals(await Array.fromAsync(readCsvRecords(stream)), expected, `chunk ${size}`);
  }
});

Deno.test("readCsvFile reads plain and gzipped files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = "A,B\n1,2\n";
    await Deno.writeTextFile(`${dir}/t.csv`, text);
    const gz = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
    await Deno.writeFile(`${dir}/t.csv.gz`, gz);
    for (const name of ["t.csv", "t.csv.gz"]) {
      const rows = await Array.fromAsync(readCsvFile(`${dir}/${name}`));
      assertEquals(rows.map((r) => r.fields), [["A", "B"], ["1", "2"]]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
