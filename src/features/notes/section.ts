/**
 * Note sections as the reference FlexCare pipeline cuts them from a discharge summary.
 *
 * @module
 */
import { normalizeNoteText } from "./normalize.ts";

/** The two sections the model reads: past medical history (six ICU tasks) and brief hospital course (DRG). */
export type NoteSection = "past-medical-history" | "brief-hospital-course";

/** The sections, in a fixed order. */
export const NOTE_SECTIONS: readonly NoteSection[] = Object.freeze([
  "past-medical-history",
  "brief-hospital-course",
]);

interface SectionRule {
  /** Start headers, most specific first; the first that matches anywhere wins. */
  readonly starts: readonly RegExp[];
  /** End markers; the section stops at the earliest one after the start. */
  readonly ends: readonly RegExp[];
}

// Headers are matched on the raw text, case-insensitively, with any whitespace (line breaks
// included) between words and optional spaces before the colon.
const RULES: Readonly<Record<NoteSection, SectionRule>> = {
  "past-medical-history": {
    starts: [/past\s+medical\s+history\s*:/i, /\bpast\s+medical\s+hx\s*:/i, /\bpmhx?\s*:/i],
    ends: [/social\s+history/i, /\bsocial\s+hx\b/i],
  },
  "brief-hospital-course": {
    starts: [/brief\s+hospital\s+course\s*:/i, /\bhospital\s+course\s*:/i],
    ends: [/medications\s+on\s+admission/i, /discharge\s+medications/i],
  },
};

// Text that was already normalized has no colons: the header words alone mark the section.
const NORMALIZED_STARTS: Readonly<Record<NoteSection, RegExp>> = {
  "past-medical-history": /\bpast medical history\b/,
  "brief-hospital-course": /\bbrief hospital course\b/,
};

/** Options of {@linkcode extractSection}. */
export interface ExtractSectionOptions {
  /**
   * Return the raw text between the headers instead of the normalized one line.
   * @default {false}
   */
  readonly raw?: boolean;
}

/**
 * Cuts a section out of a discharge-summary-style text the way the reference pipeline does:
 * the text after the first "past medical history:" up to the next "social history" (for
 * `"brief-hospital-course"`: after "brief hospital course:" up to the earlier of "medications on
 * admission" and "discharge medications"), then {@linkcode normalizeNoteText}. Headers match in
 * any case and spacing; "PMH:", "Past Medical Hx:" and "Hospital Course:" are accepted when the
 * full header is absent. Without an end marker the section runs to the end of the text (as the
 * reference's string split does). Returns `null` when the start header is absent.
 *
 * @example Past medical history from a discharge summary
 * ```ts
 * import { extractSection } from "./section.ts";
 * const note = "Chief Complaint: dyspnea\nPast Medical History:\n- HTN, CHF (EF 30%)\n" +
 *   "- COPD\nSocial History: former smoker\nBrief Hospital Course: diuresed.\n" +
 *   "Medications on Admission: lasix";
 * if (extractSection(note, "past-medical-history") !== "htn chf ef 30 copd") throw new Error();
 * if (extractSection(note, "brief-hospital-course") !== "diuresed") throw new Error();
 * if (extractSection("no headers here", "past-medical-history") !== null) throw new Error();
 * ```
 */
export function extractSection(
  text: string,
  section: NoteSection,
  options: ExtractSectionOptions = {},
): string | null {
  const rule = RULES[section];
  if (rule === undefined) {
    throw new RangeError(
      `Unknown note section "${String(section)}": expected one of ${NOTE_SECTIONS.join(", ")}`,
    );
  }
  let start = -1;
  for (const pattern of rule.starts) {
    const match = pattern.exec(text);
    if (match !== null) {
      start = match.index + match[0].length;
      break;
    }
  }
  if (start < 0 && !text.includes(":")) {
    const match = NORMALIZED_STARTS[section].exec(text.toLowerCase());
    if (match !== null) start = match.index + match[0].length;
  }
  if (start < 0) return null;
  const rest = text.slice(start);
  let end = rest.length;
  for (const pattern of rule.ends) {
    const match = pattern.exec(rest);
    if (match !== null && match.index < end) end = match.index;
  }
  const body = rest.slice(0, end);
  return options.raw === true ? body : normalizeNoteText(body);
}

/**
 * The section a task reads: brief hospital course for DRG, past medical history otherwise.
 *
 * @example
 * ```ts
 * import { sectionForTask } from "./section.ts";
 * if (sectionForTask("drg") !== "brief-hospital-course") throw new Error();
 * if (sectionForTask("ihm") !== "past-medical-history") throw new Error();
 * ```
 */
export function sectionForTask(task: string): NoteSection {
  return task === "drg" ? "brief-hospital-course" : "past-medical-history";
}
