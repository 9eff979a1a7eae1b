import { assertEquals, assertThrows } from "../assert.ts";
import {
  basicTokenize,
  parseVocab,
  WordPieceTokenizer,
} from "../../src/features/notes/wordpiece.ts";

// A small vocabulary; expectations are derived by hand from BERT's BasicTokenizer + WordPiece.
const VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "un",
  "##aff",
  "##able",
  "want",
  "##want",
  "##ed",
  "wa",
  "runn",
  "##ing",
  ",",
  ".",
  "/",
  "(",
  ")",
  "%",
  "Patient",
  "patient",
  "h",
  "##t",
  "##n",
  "café",
  "cafe",
  "中",
  "国",
  "10",
  "mg",
];

const pieces = (tok: WordPieceTokenizer, text: string) => tok.tokenize(text).map((t) => t.piece);

Deno.test("wordpiece: greedy longest-match-first with ## continuations", () => {
  const tok = new WordPieceTokenizer(VOCAB);
  assertEquals(pieces(tok, "unaffable"), ["un", "##aff", "##able"]);
  assertEquals(pieces(tok, "unwanted running"), ["un", "##want", "##ed", "runn", "##ing"]);
  assertEquals(pieces(tok, "htn"), ["h", "##t", "##n"]);
  assertEquals(tok.encode("unaffable"), [4, 5, 6]);
});

Deno.test("wordpiece: a word without a full split is one [UNK]", () => {
  const tok = new WordPieceTokenizer(VOCAB);
  assertEquals(pieces(tok, "unwantedX"), ["[UNK]"]);
  assertEquals(pieces(tok, "xyz unaffable"), ["[UNK]", "un", "##aff", "##able"]);
});

Deno.test("wordpiece: punctuation is split into its own tokens", () => {
  const tok = new WordPieceTokenizer(VOCAB);
  assertEquals(pieces(tok, "patient,htn."), ["patient", ",", "h", "##t", "##n", "."]);
  assertEquals(pieces(tok, "(10mg)"), ["(", "[UNK]", ")"]); // "10mg" is one word: no split
  assertEquals(pieces(tok, "10 mg/10%"), ["10", "mg", "/", "10", "%"]);
  // ASCII symbols count as punctuation in BERT even where Unicode calls them symbols.
  assertEquals(basicTokenize("a$b^c`d"), ["a", "$", "b", "^", "c", "`", "d"]);
});

Deno.test("wordpiece: cased by default, accents kept; uncased lower-cases and strips accents", () => {
  const cased = new WordPieceTokenizer(VOCAB);
  assertEquals(pieces(cased, "Patient café"), ["Patient", "café"]);
  assertEquals(pieces(cased, "PATIENT"), ["[UNK]"]);
  const uncased = new WordPieceTokenizer(VOCAB, { lowerCase: true });
  assertEquals(pieces(uncased, "PATIENT Café"), ["patient", "cafe"]);
});

Deno.test("wordpiece: CJK ideographs become single tokens; control characters are dropped", () => {
  const tok = new WordPieceTokenizer(VOCAB);
  assertEquals(pieces(tok, "中国"), ["中", "国"]);
  assertEquals(basicTokenize("a\u0000b\ufffd c\u200bd\te\u00a0f"), ["ab", "cd", "e", "f"]);
});

Deno.test("wordpiece: words over 100 characters are [UNK]; limit caps the pieces", () => {
  const tok = new WordPieceTokenizer(VOCAB);
  assertEquals(pieces(tok, "h" + "##".slice(2) + "t".repeat(100)), ["[UNK]"]);
  assertEquals(pieces(tok, "htn"), ["h", "##t", "##n"]);
  assertEquals(tok.tokenize("unaffable unaffable", { limit: 4 }).length, 4);
  const short = new WordPieceTokenizer(VOCAB, { maxCharsPerWord: 2 });
  assertEquals(pieces(short, "htn wa"), ["[UNK]", "wa"]);
});

Deno.test("wordpiece: vocab.txt parsing and validation", () => {
  const vocab = parseVocab("[PAD]\r\n[UNK]\r\nthe\r\n");
  assertEquals([...vocab], [["[PAD]", 0], ["[UNK]", 1], ["the", 2]]);
  assertEquals(new WordPieceTokenizer(vocab).vocabSize, 3);
  assertThrows(() => new WordPieceTokenizer(["the"]), TypeError, "[UNK]");
});
