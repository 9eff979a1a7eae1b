import { gunzipSync } from "node:zlib";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
import { parseCsv } from "../../src/data/csv.ts";
import { normalizeNoteText } from "../../src/features/notes/normalize.ts";
import {
  extractSection,
  type NoteSection,
  sectionForTask,
} from "../../src/features/notes/section.ts";

// Synthetic discharge summary in the MIMIC-IV-Note layout (written for this test).
const SUMMARY = `Name:  ___                     Unit No:   ___

Admission Date:  ___              Discharge Date:   ___

Chief Complaint:
Shortness of breath

History of Present Illness:
Mr. ___ is a 67 y/o man with a history of CHF who presents with dyspnea.

Past Medical History:
1. CHF (EF 35%), s/p ICD placement
2. Type 2 diabetes mellitus - on insulin
3. HTN; HLD
4. COPD: 2L home O2

Social History:
___
Family History:
Father with MI at 60

Brief Hospital Course:
Mr. ___ was admitted for a CHF exacerbation. He was diuresed with IV Lasix,
weaning to room air by hospital day 3.

# Diabetes: Continued home insulin.

Medications on Admission:
1. Furosemide 40 mg PO daily

Discharge Medications:
1. Furosemide 80 mg PO daily
`;

Deno.test("notes: normalization is the reference remove_symbol on lower-case text", () => {
  // Line breaks are deleted (joining the words around them) and ASCII punctuation is deleted,
  // exactly as FlexCare's mimic4extract does; other whitespace is kept.
  assertEquals(
    normalizeNoteText("CHF (EF 35%),\ns/p ICD\r\n\tplacement"),
    "chf ef 35sp icd\tplacement",
  );
  assertEquals(normalizeNoteText("Patient's wife; pt’s son"), "patients wife pt’s son");
  assertEquals(normalizeNoteText("Na+ 135, K+ 4.1 (n=2) 37°C_x"), "na 135 k 41 n2 37°cx");
  assertEquals(normalizeNoteText("Café  CRÈME"), "café  crème");
  assertEquals(normalizeNoteText("  \n ,.;:  \n"), "");
  const once = normalizeNoteText(SUMMARY);
  assertEquals(normalizeNoteText(once), once);
  assert(!/[,\n\r]/.test(once));
  assert(!/[A-Z]/.test(once));
});

Deno.test("notes: past medical history up to social history", () => {
  assertEquals(
    extractSection(SUMMARY, "past-medical-history"),
    "1 chf ef 35 sp icd placement2 type 2 diabetes mellitus  on insulin3 htn hld4 copd 2l home o2",
  );
  const raw = extractSection(SUMMARY, "past-medical-history", { raw: true });
  assert(raw !== null && raw.includes("CHF (EF 35%)") && !raw.includes("Social"));
});

Deno.test("notes: brief hospital course up to the first medications header", () => {
  assertEquals(
    extractSection(SUMMARY, "brief-hospital-course"),
    "mr  was admitted for a chf exacerbation he was diuresed with iv lasixweaning to room air " +
      "by hospital day 3 diabetes continued home insulin",
  );
  const dischargeOnly = "BRIEF HOSPITAL COURSE: stable.\nDISCHARGE MEDICATIONS: aspirin";
  assertEquals(extractSection(dischargeOnly, "brief-hospital-course"), "stable");
  const both = "Brief Hospital Course: ok. Discharge Medications: a. Medications on Admission: b";
  assertEquals(extractSection(both, "brief-hospital-course"), "ok");
});

Deno.test("notes: header variants, case and spacing", () => {
  const cases: [string, NoteSection, string | null][] = [
    ["PAST MEDICAL HISTORY: HTN. SOCIAL HISTORY: none", "past-medical-history", "htn"],
    ["past  medical\nhistory :\nHTN\nsocial   history: x", "past-medical-history", "htn"],
    [
      "PMH: asthma, GERD\nSH: nonsmoker\nSocial History: -",
      "past-medical-history",
      "asthma gerdsh nonsmoker",
    ],
    ["Past Medical Hx: asthma. Social Hx: none", "past-medical-history", "asthma"],
    [
      "Hospital Course: uneventful. Discharge Medications: none",
      "brief-hospital-course",
      "uneventful",
    ],
    [
      "PAST MEDICAL HISTORY:, Negative.  PAST SURGICAL HISTORY:, None.",
      "past-medical-history",
      "negative  past surgical history none",
    ],
    ["history of present illness only", "past-medical-history", null],
    ["Brief Hospital Course:", "brief-hospital-course", ""],
  ];
  for (const [text, section, expected] of cases) {
    assertEquals(extractSection(text, section), expected, text);
  }
  // The full header wins over an earlier abbreviation.
  assertEquals(
    extractSection(
      "PMH: see below. Past Medical History: CAD. Social History: -",
      "past-medical-history",
    ),
    "cad",
  );
});

Deno.test("notes: already-normalized text still yields its section", () => {
  // A listfile note has no colons left: the header words alone mark the section.
  const normalized = "chief complaint dyspnea past medical history htn copd social history smoker";
  assertEquals(extractSection(normalized, "past-medical-history"), "htn copd");
  assertEquals(extractSection("htn copd", "past-medical-history"), null);
});

Deno.test("notes: section per task and unknown sections", () => {
  assertEquals(sectionForTask("drg"), "brief-hospital-course");
  for (const task of ["ihm", "dec", "phe", "los", "rea", "dia"]) {
    assertEquals(sectionForTask(task), "past-medical-history");
  }
  assertThrows(
    () => extractSection(SUMMARY, "plan" as NoteSection),
    RangeError,
    'Unknown note section "plan"',
  );
});

const MTSAMPLES = "data/mtsamples/mtsamples.csv.gz";

Deno.test({
  name: "notes: sections of real MTSamples reports",
  ignore: sharedMissing(MTSAMPLES),
  fn() {
    const text = new TextDecoder().decode(
      gunzipSync(Deno.readFileSync(`${SHARED_DIR}/${MTSAMPLES}`)),
    );
    const [header, ...rows] = parseCsv(text);
    const col = header!.fields.indexOf("transcription");
    const notes = [...new Set(rows.map((r) => r.fields[col]!))];
    assert(notes.length > 2000);
    let pmh = 0, course = 0;
    for (const note of notes) {
      const section = extractSection(note, "past-medical-history");
      if (/past medical history\s*:/i.test(note)) {
        assert(section !== null);
        pmh++;
        // One normalized line that stops before the social history header.
        assertEquals(normalizeNoteText(section), section);
        assert(!section.includes(","));
        const raw = extractSection(note, "past-medical-history", { raw: true })!;
        assert(!/social history/i.test(raw));
        assert(note.includes(raw));
      }
      const hc = extractSection(note, "brief-hospital-course");
      if (hc !== null) {
        course++;
        assertEquals(normalizeNoteText(hc), hc);
        const raw = extractSection(note, "brief-hospital-course", { raw: true })!;
        assert(!/discharge medications|medications on admission/i.test(raw));
      }
    }
    // Counts over the 2,357 distinct reports, checked with Python's re on the same file.
    assertEquals(pmh, 378);
    assertEquals(course, 98);
  },
});
