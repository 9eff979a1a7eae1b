/**
 * `flexcare import physionet2012`: PhysioNet/CinC Challenge 2012 records (`set-a/<RecordID>.txt`
 * with `Time,Parameter,Value` lines, `Time` as `HH:MM` since ICU admission) and their
 * `Outcomes-<set>.txt` to the reference dataset layout, for in-hospital mortality,
 * decompensation and length of stay, with a dataset card.
 *
 * Parameters map onto the 17 channels where one exists (HR, RespRate, SaO2 -> Oxygen
 * saturation, Temp, Weight, Height, Glucose, pH, FiO2, GCS -> Glascow coma scale total, and
 * the blood pressures); the others (labs, urine, ventilation, descriptors) are counted and left
 * out. Values go through the same unit cleaning and outlier ranges as the MIMIC extraction;
 * `-1` (the challenge's "missing") and blood pressures of exactly 0 (line artefacts) are refused.
 *
 * Pressure merge rule: at each time stamp and for each of systolic, diastolic and mean pressure,
 * the invasive (arterial line) value wins when it was accepted; the non-invasive (cuff) value is
 * used only when no accepted invasive value exists at that time stamp.
 *
 * Labels: in-hospital mortality from `In-hospital_death` (every record covers the first 48 hours
 * of a stay of at least 48 hours); death time = `Survival` days after ICU admission;
 * length of stay = `Length_of_stay` days (days from ICU admission to hospital discharge,
 * `-1` = unknown, then no LOS sample). Decompensation and length of stay keep one random hour
 * per record, after hour 4, up to hour 48 (the records end there). Splits are by record
 * (the challenge has no patient ids), 70/10/20 with a fixed seed.
 *
 * @module
 */
import { seededRandom } from "../random.ts";
import { assignSplits, DEFAULT_SPLIT_SEED } from "../splits.ts";
import { getTask, SPLITS, type TaskCode } from "../tasks.ts";
import { type ListfileRow, writeListfile } from "../layout_writer.ts";
import { PHYSIONET_ICU_TYPES, type StayMetadata, writeStayMetadata } from "../stay_metadata.ts";
import type { Observation } from "../../features/observation.ts";
import { buildDatasetCard, type DatasetCard, writeDatasetCard } from "../dataset_card.ts";
import { cleanAndCheck, type VariableRange } from "../extract/clean.ts";
import { CleaningLog, EpisodeWriter } from "../extract/episode_sink.ts";
import {
  decompensationLabel,
  decompensationTimes,
  IHM_HOURS,
  lengthOfStayLabel,
  lengthOfStayTimes,
  pickOne,
  type StayTimeline,
} from "../extract/labels.ts";
import { Progress } from "../extract/progress.ts";
import { DEFAULT_RESOURCES_DIR, loadExtractResources } from "../extract/resources.ts";

/** Challenge parameter -> channel, for the parameters that have one. */
export const PHYSIONET_CHANNELS: Readonly<Record<string, string>> = Object.freeze({
  HR: "Heart Rate",
  RespRate: "Respiratory rate",
  SaO2: "Oxygen saturation",
  Temp: "Temperature",
  Weight: "Weight",
  Height: "Height",
  Glucose: "Glucose",
  pH: "pH",
  FiO2: "Fraction inspired oxygen",
  GCS: "Glascow coma scale total",
  SysABP: "Systolic blood pressure",
  DiasABP: "Diastolic blood pressure",
  MAP: "Mean blood pressure",
  NISysABP: "Systolic blood pressure",
  NIDiasABP: "Diastolic blood pressure",
  NIMAP: "Mean blood pressure",
});

const INVASIVE = new Set(["SysABP", "DiasABP", "MAP"]);
const NON_INVASIVE = new Set(["NISysABP", "NIDiasABP", "NIMAP"]);

/** The hours the challenge records cover. */
export const PHYSIONET_HORIZON_HOURS = 48;

/** One row of an outcome file. */
export interface PhysionetOutcome {
  recordId: string;
  /** Days, NaN when -1. */
  lengthOfStayDays: number;
  /** Days from ICU admission to death, NaN when -1 (no recorded death). */
  survivalDays: number;
  inHospitalDeath: 0 | 1;
}

/**
 * Parses an `Outcomes-*.txt` file.
 *
 * @example
 * ```ts
 * import { parseOutcomes } from "./physionet2012.ts";
 * const o = parseOutcomes("RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death\n132539,6,1,5,-1,0\n");
 * const r = o.get("132539")!;
 * if (r.lengthOfStayDays !== 5 || !Number.isNaN(r.survivalDays) || r.inHospitalDeath !== 0) throw new Error();
 * ```
 */
export function parseOutcomes(text: string, source = "<outcomes>"): Map<string, PhysionetOutcome> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").split(",").map((h) => h.trim());
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new SyntaxError(`${source}:1: missing column ${JSON.stringify(name)}`);
    return i;
  };
  const [id, los, survival, death] = [
    col("RecordID"),
    col("Length_of_stay"),
    col("Survival"),
    col("In-hospital_death"),
  ];
  const out = new Map<string, PhysionetOutcome>();
  const num = (s: string | undefined) => {
    const v = Number(s);
    return s === undefined || s.trim() === "" || !Number.isFinite(v) || v < 0 ? Number.NaN : v;
  };
  lines.slice(1).forEach((line, i) => {
    const f = line.split(",");
    const d = f[death]?.trim();
    if (d !== "0" && d !== "1") {
      throw new SyntaxError(
        `${source}:${i + 2}: In-hospital_death must be 0 or 1, got ${JSON.stringify(d)}`,
      );
    }
    out.set(f[id]!.trim(), {
      recordId: f[id]!.trim(),
      lengthOfStayDays: num(f[los]),
      survivalDays: num(f[survival]),
      inHospitalDeath: d === "1" ? 1 : 0,
    });
  });
  return out;
}

/** Parses `HH:MM` as hours (NaN when malformed). */
export function parseChallengeTime(text: string): number {
  const m = /^(\d+):(\d{2})$/.exec(text.trim());
  return m === null ? Number.NaN : Number(m[1]) + Number(m[2]) / 60;
}

/**
 * Converts one record's text to observations, counting every value in `log` (per parameter).
 *
 * @example Invasive pressure wins at the same time stamp
 * ```ts
 * import { recordObservations } from "./physionet2012.ts";
 * import { CleaningLog } from "../extract/episode_sink.ts";
 * const text = "Time,Parameter,Value\n00:00,RecordID,1\n00:00,Height,-1\n00:30,NISysABP,120\n00:30,SysABP,131\n01:00,NISysABP,118\n01:00,GCS,15\n";
 * const obs = recordObservations(text, { log: new CleaningLog(), ranges: new Map() });
 * const sbp = obs.filter((o) => o.channel === "Systolic blood pressure").map((o) => o.value);
 * if (sbp.join() !== "131,118") throw new Error(sbp.join());
 * ```
 */
export function recordObservations(
  text: string,
  options: { log: CleaningLog; ranges: ReadonlyMap<string, VariableRange>; source?: string },
): Observation[] {
  const { log, ranges } = options;
  const lines = text.split(/\r?\n/);
  const observations: Observation[] = [];
  // time -> channel -> { invasive?, nonInvasive? } for the pressure merge.
  const pressures = new Map<number, Map<string, { inv?: number; ni?: number }>>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const [time, parameter, value] = line.split(",");
    if (parameter === undefined || value === undefined) {
      throw new SyntaxError(
        `${options.source ?? "<record>"}:${i + 1}: expected Time,Parameter,Value`,
      );
    }
    const channel = PHYSIONET_CHANNELS[parameter];
    if (channel === undefined) {
      log.count(parameter, "skipped: no matching channel");
      continue;
    }
    const hours = parseChallengeTime(time!);
    if (Number.isNaN(hours)) {
      log.count(parameter, "rejected: bad time");
      continue;
    }
    if (Number(value) === -1) {
      log.count(parameter, "rejected: missing marker -1");
      continue;
    }
    const cleaned = cleanAndCheck(channel, { value }, ranges);
    if (!cleaned.ok) {
      log.count(parameter, `rejected: ${cleaned.reason}`);
      continue;
    }
    if (INVASIVE.has(parameter) || NON_INVASIVE.has(parameter)) {
      if (cleaned.value === 0) {
        log.count(parameter, "rejected: zero pressure (artefact)");
        continue;
      }
      for (const a of cleaned.actions) log.count(parameter, `cleaned: ${a}`);
      let byChannel = pressures.get(hours);
      if (byChannel === undefined) pressures.set(hours, byChannel = new Map());
      const slot = byChannel.get(channel) ?? {};
      if (INVASIVE.has(parameter)) {
        if (slot.inv !== undefined) {
          log.count(parameter, "merged: repeated at same time (last kept)");
        }
        slot.inv = cleaned.value as number;
      } else {
        if (slot.ni !== undefined) {
          log.count(parameter, "merged: repeated at same time (last kept)");
        }
        slot.ni = cleaned.value as number;
      }
      byChannel.set(channel, slot);
      continue;
    }
    log.count(parameter, "kept");
    for (const a of cleaned.actions) log.count(parameter, `cleaned: ${a}`);
    observations.push({ hours, channel, value: cleaned.value });
  }
  for (const [hours, byChannel] of pressures) {
    for (const [channel, slot] of byChannel) {
      const prefix = channel.split(" ")[0]!; // Systolic / Diastolic / Mean
      const inv = prefix === "Systolic" ? "SysABP" : prefix === "Diastolic" ? "DiasABP" : "MAP";
      const ni = `NI${inv}`;
      if (slot.inv !== undefined) {
        observations.push({ hours, channel, value: slot.inv });
        log.count(inv, "kept");
        if (slot.ni !== undefined) log.count(ni, "merged: dropped for invasive value at same time");
      } else if (slot.ni !== undefined) {
        observations.push({ hours, channel, value: slot.ni });
        log.count(ni, "kept");
      }
    }
  }
  observations.sort((a, b) => a.hours - b.hours);
  return observations;
}

/**
 * The general descriptors of a record (the time-0 rows): age in years, sex (`F`/`M`, Gender
 * 0/1) and the unit (ICUType 1-4 as `CCU`, `CSRU`, `MICU`, `SICU`); unknown (-1 or absent) as
 * NaN / "".
 *
 * @example
 * ```ts
 * import { recordDescriptors } from "./physionet2012.ts";
 * const d = recordDescriptors("Time,Parameter,Value\n00:00,Age,54\n00:00,Gender,0\n00:00,ICUType,4\n");
 * if (d.age !== 54 || d.sex !== "F" || d.unit !== "SICU") throw new Error(JSON.stringify(d));
 * ```
 */
export function recordDescriptors(text: string): { age: number; sex: string; unit: string } {
  const out = { age: Number.NaN, sex: "", unit: "" };
  for (const line of text.split(/\r?\n/)) {
    const [time, parameter, value] = line.split(",");
    if (time !== "00:00" || value === undefined) continue;
    const v = Number(value);
    if (parameter === "Age" && Number.isFinite(v) && v >= 0) out.age = v;
    else if (parameter === "Gender") out.sex = v === 0 ? "F" : v === 1 ? "M" : "";
    else if (parameter === "ICUType") out.unit = PHYSIONET_ICU_TYPES[String(v)] ?? "";
  }
  return out;
}

/** Options for {@linkcode importPhysionet2012}. */
export interface Physionet2012Options {
  /** Folder holding `set-a/`, `set-b/` ... and `Outcomes-a.txt` ... */
  inDir: string;
  /** Output dataset folder. */
  outDir: string;
  /**
   * Which sets to import (letters).
   * @default {every set folder that has an outcome file}
   */
  sets?: string[];
  /**
   * Seed of the record split and of the one-hour sampling.
   * @default {42}
   */
  seed?: number;
  /**
   * Progress bar on stderr.
   * @default {false}
   */
  progress?: boolean;
  /**
   * Folder of the mapping tables (for `variable_ranges.csv`).
   * @default {DEFAULT_RESOURCES_DIR}
   */
  resourcesDir?: string;
}

/** What the import wrote. */
export interface Physionet2012Result {
  records: number;
  samples: Partial<Record<TaskCode, number>>;
  /** Share of records with `In-hospital_death` = 1. */
  mortality: number;
  elapsedSeconds: number;
  card: DatasetCard;
}

/**
 * Runs the import.
 *
 * @example
 * ```ts ignore
 * const r = await importPhysionet2012({ inDir: "physionet-2012", outDir: "data/p12", sets: ["a"] });
 * console.log(r.records, r.mortality);
 * ```
 */
export async function importPhysionet2012(
  options: Physionet2012Options,
): Promise<Physionet2012Result> {
  const started = performance.now();
  const { ranges } = await loadExtractResources(options.resourcesDir ?? DEFAULT_RESOURCES_DIR);
  let sets = options.sets?.map((s) => s.toLowerCase());
  if (sets === undefined) {
    sets = [];
    for await (const e of Deno.readDir(options.inDir)) {
      const m = /^set-([a-z])$/i.exec(e.name);
      if (e.isDirectory && m !== null) sets.push(m[1]!.toLowerCase());
    }
    sets.sort();
  }
  if (sets.length === 0) throw new Error(`No set-* folders found in "${options.inDir}"`);
  const log = new CleaningLog();
  const writer = new EpisodeWriter(options.outDir);
  const random = seededRandom(options.seed ?? DEFAULT_SPLIT_SEED);
  const rows: Partial<Record<TaskCode, ListfileRow[]>> = { ihm: [], dec: [], los: [] };
  const metadata: StayMetadata[] = [];
  let records = 0;
  let deaths = 0;
  let empty = 0;
  for (const set of sets) {
    const outcomesPath = `${options.inDir}/Outcomes-${set}.txt`;
    let outcomesText: string;
    try {
      outcomesText = await Deno.readTextFile(outcomesPath);
    } catch {
      throw new Error(`Set "${set}" has no outcome file ${outcomesPath}`);
    }
    const outcomes = parseOutcomes(outcomesText, outcomesPath);
    const dir = `${options.inDir}/set-${set}`;
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".txt")) names.push(e.name);
    }
    names.sort();
    const bar = new Progress(`set-${set}`, names.length, {
      enabled: options.progress ?? false,
      unit: "records",
    });
    let done = 0;
    for (const name of names) {
      bar.update(++done);
      const recordId = name.replace(/\.txt$/, "");
      const outcome = outcomes.get(recordId);
      if (outcome === undefined) {
        log.count("(records)", "skipped: no outcome row");
        continue;
      }
      const path = `${dir}/${name}`;
      const text = await Deno.readTextFile(path);
      const observations = recordObservations(text, { log, ranges, source: path });
      metadata.push({
        stayId: recordId,
        subjectId: recordId,
        admissionType: "",
        ...recordDescriptors(text),
      });
      const episode = `${recordId}_episode1_timeseries.csv`;
      const written = await writer.write(episode, observations);
      for (const [channel, n] of written.duplicates) {
        log.count(channel, "merged: same time as a later value (last kept)", n);
      }
      if (written.rows === 0) empty++;
      records++;
      deaths += outcome.inHospitalDeath;
      const base = { subjectId: recordId, stayId: recordId, episode, dicomId: "", note: "" };
      rows.ihm!.push({ ...base, time: IHM_HOURS, labels: [outcome.inHospitalDeath] });
      const losHours = outcome.lengthOfStayDays * 24;
      const timeline: StayTimeline = {
        // Every record is a stay of at least 48 hours, so an unknown LOS still allows hours <= 48.
        losHours: Number.isNaN(losHours) ? PHYSIONET_HORIZON_HOURS : losHours,
        firstEventHours: written.firstHours,
        mortality: outcome.inHospitalDeath,
        deathHours: outcome.survivalDays * 24,
        horizonHours: PHYSIONET_HORIZON_HOURS,
      };
      const decT = pickOne(decompensationTimes(timeline), random);
      if (decT !== undefined) {
        rows.dec!.push({ ...base, time: decT, labels: [decompensationLabel(timeline, decT)] });
      } else log.count("(records)", "no decompensation hour (no data after hour 4)");
      const losT = Number.isNaN(losHours)
        ? undefined
        : pickOne(lengthOfStayTimes(timeline), random);
      if (losT !== undefined) {
        rows.los!.push({ ...base, time: losT, labels: [lengthOfStayLabel(timeline, losT)] });
      } else {
        log.count(
          "(records)",
          Number.isNaN(losHours) ? "no length-of-stay sample (LOS -1)" : "no length-of-stay hour",
        );
      }
    }
    bar.finish();
  }
  const splitOf = assignSplits(rows.ihm!.map((r) => String(r.subjectId)), {
    seed: options.seed ?? DEFAULT_SPLIT_SEED,
  });
  const samples: Partial<Record<TaskCode, number>> = {};
  for (const [code, list] of Object.entries(rows) as [TaskCode, ListfileRow[]][]) {
    for (const split of SPLITS) {
      await writeListfile(
        options.outDir,
        getTask(code),
        split,
        list.filter((r) => splitOf.get(String(r.subjectId)) === split),
      );
    }
    samples[code] = list.length;
  }
  await writeStayMetadata(options.outDir, metadata);
  const elapsedSeconds = (performance.now() - started) / 1000;
  const card = await buildDatasetCard(options.outDir, {
    title: "Dataset card: PhysioNet/CinC Challenge 2012 import",
    source: `${options.inDir} (sets ${sets.join(", ")})`,
    cohort: [{ step: "records with outcomes", stays: records }, {
      step: "records with no value in the 17 channels",
      stays: empty,
    }],
    cleaning: log.toJSON(),
    notes: [
      "Records cover the first 48 hours of ICU stays of at least 48 hours; no images or notes (CXR and note missing everywhere).",
      "Pressures: the invasive value wins at a time stamp; the non-invasive value is used only where no accepted invasive value exists at that time. Pressures of exactly 0 are refused as artefacts.",
      "stays.csv holds each record's unit (ICUType 1-4 as CCU, CSRU, MICU, SICU), age and sex (Gender 0 F, 1 M) for subgroup reports (eval --by unit, age_band, sex).",
      "Length of stay is the challenge's Length_of_stay (days from ICU admission to hospital discharge, whole days); death time is Survival days after ICU admission.",
      `Split by record 70/10/20 with seed ${
        options.seed ?? DEFAULT_SPLIT_SEED
      }; one random hour in (4, 48] per record for decompensation and length of stay.`,
    ],
    elapsedSeconds,
    coverage: writer.coverage(),
  });
  await writeDatasetCard(options.outDir, card);
  return { records, samples, mortality: records > 0 ? deaths / records : 0, elapsedSeconds, card };
}
