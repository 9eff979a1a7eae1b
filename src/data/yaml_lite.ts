/**
 * A reader for the small YAML subset of the HCUP CCS definition files
 * (`hcup_ccs_2015_definitions.yaml`, `icd_9_10_definitions.yaml`): a top-level mapping of
 * (optionally quoted) names to mappings of scalars and lists, lists written either in flow style
 * (`codes: [ "0031", "0202" ]`) or block style (`- '0031'`). Anything else is a
 * `SyntaxError` naming the line.
 *
 * @module
 */

/** A scalar or list value of the subset. */
export type YamlLiteValue = string | number | boolean | null | YamlLiteValue[];

/** The parsed document: name -> field -> value. */
export type YamlLiteDocument = Record<string, Record<string, YamlLiteValue>>;

/** Options for {@linkcode parseYamlLite}. */
export interface YamlLiteOptions {
  /**
   * Name used in error messages.
   * @default {"<yaml>"}
   */
  source?: string;
}

function unquote(text: string, fail: (m: string) => never): string | null {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    return t.slice(1, -1).replace(/\\(["\\])/g, "$1");
  }
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) {
    return t.slice(1, -1).replaceAll("''", "'");
  }
  if (t.startsWith('"') || t.startsWith("'")) fail(`unterminated quoted text ${t}`);
  return null;
}

/** A scalar: quoted text stays text; bare true/false/null/numbers are typed, else text. */
function scalar(text: string, fail: (m: string) => never): YamlLiteValue {
  const quoted = unquote(text, fail);
  if (quoted !== null) return quoted;
  const t = text.trim();
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (t === "" || t === "~" || /^(null|Null|NULL)$/.test(t)) return null;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !/^0\d/.test(t)) return Number(t);
  return t;
}

/** A list item: always text (codes like `0389` or `V1201` must keep their spelling). */
function item(text: string, fail: (m: string) => never): string {
  return unquote(text, fail) ?? text.trim();
}

function splitFlow(body: string, fail: (m: string) => never): string[] {
  const items: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (const c of body) {
    if (quote !== null) {
      current += c;
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      current += c;
      quote = c;
    } else if (c === ",") {
      items.push(current);
      current = "";
    } else current += c;
  }
  if (quote !== null) fail("unterminated quote in a flow list");
  if (current.trim() !== "") items.push(current);
  return items.map((s) => item(s, fail));
}

/**
 * Parses the CCS-definition YAML subset.
 *
 * @example Flow and block lists
 * ```ts
 * import { parseYamlLite } from "./yaml_lite.ts";
 * const doc = parseYamlLite(
 *   '"Shock":\n  use_in_benchmark: True\n  codes: [ "78550", "78551" ]\nSepsis:\n  codes:\n  - \'0389\'\n  - A419\n',
 * );
 * if (doc["Shock"]!.use_in_benchmark !== true) throw new Error();
 * if ((doc["Sepsis"]!.codes as string[])[0] !== "0389") throw new Error();
 * ```
 */
export function parseYamlLite(text: string, options: YamlLiteOptions = {}): YamlLiteDocument {
  const source = options.source ?? "<yaml>";
  const doc: YamlLiteDocument = {};
  let entry: Record<string, YamlLiteValue> | null = null;
  let blockList: string[] | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const fail = (message: string): never => {
      throw new SyntaxError(`${source}:${i + 1}: ${message}`);
    };
    const line = raw.replace(/\s+#.*$/, "").replace(/^#.*$/, "");
    if (line.trim() === "") continue;
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    if (indent === 0) {
      if (!body.endsWith(":")) {
        fail(`expected a top-level "name:" line, got ${JSON.stringify(body)}`);
      }
      const name = unquote(body.slice(0, -1), fail) ?? body.slice(0, -1).trim();
      entry = {};
      doc[name] = entry;
      blockList = null;
      continue;
    }
    if (entry === null) fail("indented line before any top-level name");
    if (body.startsWith("- ") || body === "-") {
      if (blockList === null) fail('list item without a preceding "key:" line');
      blockList!.push(item(body.slice(1), fail));
      continue;
    }
    const colon = body.search(/:(\s|$)/);
    if (colon < 0) fail(`expected "key: value", got ${JSON.stringify(body)}`);
    const key = body.slice(0, colon).trim();
    const rest = body.slice(colon + 1).trim();
    if (rest === "") {
      blockList = [];
      entry![key] = blockList;
    } else if (rest.startsWith("[")) {
      if (!rest.endsWith("]")) fail("flow lists must close on the same line");
      entry![key] = splitFlow(rest.slice(1, -1), fail);
      blockList = null;
    } else {
      entry![key] = scalar(rest, fail);
      blockList = null;
    }
  }
  return doc;
}
