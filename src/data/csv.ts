/**
 * Quote-aware CSV reading (RFC 4180): fields may be quoted, quotes are escaped by doubling,
 * and quoted fields may hold commas and line breaks. Both a whole-text parser and a streaming
 * record reader that never holds more than one record in memory.
 *
 * @module
 */

/** One parsed CSV record with the 1-based line number where it starts. */
export interface CsvRecord {
  /** Field texts, unquoted. */
  fields: string[];
  /** 1-based line number of the record's first line in the source. */
  line: number;
}

/** Raised for malformed CSV; names the source and the line. */
export class CsvSyntaxError extends SyntaxError {
  /** The file or source name the record came from. */
  readonly source: string;
  /** 1-based line number where the problem starts. */
  readonly line: number;

  constructor(source: string, line: number, message: string) {
    super(`${source}:${line}: ${message}`);
    this.name = "CsvSyntaxError";
    this.source = source;
    this.line = line;
  }
}

/** Options for {@linkcode parseCsv} and {@linkcode readCsvRecords}. */
export interface CsvOptions {
  /**
   * Name used in error messages (usually the file path).
   * @default {"<csv>"}
   */
  source?: string;
}

/**
 * Incremental CSV state machine: feed it text chunks, it emits complete records.
 * Shared by the whole-text and the streaming readers so both parse identically.
 */
class CsvTokenizer {
  #source: string;
  #field = "";
  #fields: string[] = [];
  #inQuotes = false;
  #quoteJustClosed = false;
  #line = 1;
  #recordLine = 1;
  #pendingCr = false;
  #fieldStarted = false;

  constructor(source: string) {
    this.#source = source;
  }

  /** Consumes a chunk; calls `emit` for each completed record. */
  push(chunk: string, emit: (record: CsvRecord) => void): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        if (c === "\n") continue;
      }
      if (this.#inQuotes) {
        if (c === '"') {
          this.#inQuotes = false;
          this.#quoteJustClosed = true;
        } else {
          if (c === "\n") this.#line++;
          else if (c === "\r") {
            this.#line++;
            this.#pendingCr = true;
          }
          this.#field += c;
        }
        continue;
      }
      if (c === '"') {
        if (this.#quoteJustClosed) {
          // A doubled quote inside a quoted field.
          this.#field += '"';
          this.#inQuotes = true;
          this.#quoteJustClosed = false;
        } else if (!this.#fieldStarted) {
          this.#inQuotes = true;
          this.#fieldStarted = true;
        } else {
          throw new CsvSyntaxError(
            this.#source,
            this.#line,
            "Unexpected quote inside an unquoted field",
          );
        }
        continue;
      }
      if (c === ",") {
        this.#endField();
        continue;
      }
      if (c === "\n" || c === "\r") {
        this.#endRecord(emit);
        this.#line++;
        this.#recordLine = this.#line;
        if (c === "\r") this.#pendingCr = true;
        continue;
      }
      if (this.#quoteJustClosed) {
        throw new CsvSyntaxError(
          this.#source,
          this.#line,
          `Unexpected character ${JSON.stringify(c)} after a closing quote`,
        );
      }
      this.#field += c;
      this.#fieldStarted = true;
    }
  }

  /** Flushes the last record (a file need not end with a line break). */
  end(emit: (record: CsvRecord) => void): void {
    if (this.#inQuotes) {
      throw new CsvSyntaxError(this.#source, this.#recordLine, "Unterminated quoted field");
    }
    if (this.#fieldStarted || this.#fields.length > 0) this.#endRecord(emit);
  }

  #endField(): void {
    this.#fields.push(this.#field);
    this.#field = "";
    this.#fieldStarted = false;
    this.#quoteJustClosed = false;
  }

  #endRecord(emit: (record: CsvRecord) => void): void {
    const blank = this.#fields.length === 0 && !this.#fieldStarted;
    this.#endField();
    const fields = this.#fields;
    this.#fields = [];
    // Blank lines carry no record.
    if (!blank) emit({ fields, line: this.#recordLine });
  }
}

/**
 * Parses a whole CSV text into records.
 *
 * @example Parse quoted fields
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * const rows = parseCsv('a,b\n"x, y","say ""hi"""\n');
 * if (rows[1]!.fields[1] !== 'say "hi"') throw new Error("unexpected");
 * ```
 */
export function parseCsv(text: string, options: CsvOptions = {}): CsvRecord[] {
  const tokenizer = new CsvTokenizer(options.source ?? "<csv>");
  const records: CsvRecord[] = [];
  const emit = (r: CsvRecord) => records.push(r);
  tokenizer.push(text, emit);
  tokenizer.end(emit);
  return records;
}

/**
 * Streams CSV records from a byte stream (decoded as UTF-8), one record at a time.
 *
 * @example Stream records from bytes
 * ```ts
 * import { readCsvRecords } from "./csv.ts";
 * const bytes = new Blob(["h1,h2\n1,2\n"]).stream();
 * let n = 0;
 * for await (const _ of readCsvRecords(bytes)) n++;
 * if (n !== 2) throw new Error("unexpected");
 * ```
 */
export async function* readCsvRecords(
  stream: ReadableStream<Uint8Array>,
  options: CsvOptions = {},
): AsyncGenerator<CsvRecord> {
  const tokenizer = new CsvTokenizer(options.source ?? "<csv>");
  const ready: CsvRecord[] = [];
  const emit = (r: CsvRecord) => ready.push(r);
  const text = stream.pipeThrough(new TextDecoderStream());
  for await (const chunk of text) {
    tokenizer.push(chunk, emit);
    while (ready.length > 0) yield ready.shift()!;
  }
  tokenizer.end(emit);
  while (ready.length > 0) yield ready.shift()!;
}

/**
 * Opens a CSV file, gunzipping it when its name ends in `.gz`, and streams its records.
 *
 * @example Stream a file
 * ```ts ignore
 * for await (const { fields, line } of readCsvFile("ADMISSIONS.csv.gz")) console.log(line, fields);
 * ```
 */
export async function* readCsvFile(path: string): AsyncGenerator<CsvRecord> {
  const file = await Deno.open(path, { read: true });
  const stream: ReadableStream<Uint8Array> = path.endsWith(".gz")
    ? file.readable.pipeThrough<Uint8Array>(
      new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
    )
    : file.readable;
  yield* readCsvRecords(stream, { source: path });
}
