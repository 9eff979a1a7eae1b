/**
 * MTSamples transcriptions (`shared/data/mtsamples/mtsamples.csv.gz`) as a note-only task
 * dataset for fine-tuning a `specialty` head: one listfile row per transcription with only the
 * note column (normalized as the reference pipeline stores notes) and the specialty's class
 * index, `classes.txt` naming the classes, seeded stratified 70/10/20 splits.
 *
 * Kept: clinical specialties with at least `minPerClass` transcriptions. Left out: document
 * types rather than specialties (consults, SOAP/progress notes, discharge summaries, emergency
 * room reports, office notes, letters, general medicine) and the catch-all "Surgery" (its
 * operative notes are largely listed again under the surgical specialties). A transcription
 * listed under several kept specialties is dropped, and one listed twice in the same specialty
 * is kept once, so no text is in two splits.
 *
 *   deno run -A src/finetune/mtsamples_dataset.ts IN.csv.gz OUT_DIR
 *
 * @module
 */
import { readCsvFile } from "../data/csv.ts";
import { seededRandom } from "../eval/prng.ts";
import { normalizeNoteText } from "../features/notes/normalize.ts";

/** Specialties that are document types or catch-alls, left out. */
export const EXCLUDED_SPECIALTIES: readonly string[] = Object.freeze([
  "Consult - History and Phy.",
  "SOAP / Chart / Progress Notes",
  "Discharge Summary",
  "Emergency Room Reports",
  "Office Notes",
  "Letters",
  "General Medicine",
  "Surgery",
]);

/** Options for {@linkcode writeMtsamplesDataset}. */
export interface MtsamplesOptions {
  /** `mtsamples.csv.gz` (or `.csv`). */
  input: string;
  /** Output dataset folder (the task folder `specialty/` is written inside). */
  out: string;
  /**
   * Fewest transcriptions of a kept specialty.
   * @default {40}
   */
  minPerClass?: number;
  /**
   * Seed of the splits.
   * @default {0}
   */
  seed?: number;
}

/**
 * Writes `out/specialty/{train,val,test}_multimodal_listfile.csv` and `classes.txt`; returns the
 * class names and split sizes.
 */
export async function writeMtsamplesDataset(
  options: MtsamplesOptions,
): Promise<{ classes: string[]; counts: Record<string, number> }> {
  const byText = new Map<string, { specialties: Set<string>; id: string }>();
  let header: string[] | null = null;
  for await (const { fields } of readCsvFile(options.input)) {
    if (header === null) {
      header = fields;
      continue;
    }
    const get = (name: string) => fields[header!.indexOf(name)]?.trim() ?? "";
    const specialty = get("medical_specialty");
    const text = normalizeNoteText(get("transcription"));
    if (text === "" || EXCLUDED_SPECIALTIES.includes(specialty)) continue;
    const entry = byText.get(text) ?? { specialties: new Set<string>(), id: get("id") };
    entry.specialties.add(specialty);
    byText.set(text, entry);
  }
  const bySpecialty = new Map<string, { text: string; id: string }[]>();
  for (const [text, e] of byText) {
    if (e.specialties.size !== 1) continue;
    const s = [...e.specialties][0]!;
    if (!bySpecialty.has(s)) bySpecialty.set(s, []);
    bySpecialty.get(s)!.push({ text, id: e.id });
  }
  const classes = [...bySpecialty].filter(([, v]) => v.length >= (options.minPerClass ?? 40))
    .map(([k]) => k).sort();
  const rand = seededRandom(options.seed ?? 0);
  const rows: Record<string, string[]> = { train: [], val: [], test: [] };
  classes.forEach((name, c) => {
    const items = [...bySpecialty.get(name)!];
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    const nTest = Math.round(items.length * 0.2), nVal = Math.round(items.length * 0.1);
    items.forEach((item, i) => {
      const split = i < nTest ? "test" : i < nTest + nVal ? "val" : "train";
      rows[split]!.push(`mt${item.id},mt${item.id},,,,${item.text},${c}`);
    });
  });
  const dir = `${options.out}/specialty`;
  await Deno.mkdir(dir, { recursive: true });
  const head = "subject_id,stay_id,stay,period_length,dicom_id,note,y_true";
  for (const [split, lines] of Object.entries(rows)) {
    await Deno.writeTextFile(
      `${dir}/${split}_multimodal_listfile.csv`,
      [head, ...lines].join("\n") + "\n",
    );
  }
  await Deno.writeTextFile(`${dir}/classes.txt`, classes.join("\n") + "\n");
  return {
    classes,
    counts: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length])),
  };
}

if (import.meta.main) {
  const [input, out] = Deno.args;
  if (input === undefined || out === undefined) {
    console.error("usage: mtsamples_dataset.ts IN.csv.gz OUT_DIR");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await writeMtsamplesDataset({ input, out })));
}
