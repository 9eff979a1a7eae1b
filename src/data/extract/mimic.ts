/**
 * `flexcare extract mimic`: raw MIMIC-III or MIMIC-IV tables to the reference dataset layout
 * (`../shared/spec/data.md`) for in-hospital mortality, decompensation, phenotyping, length of
 * stay, readmission and DRG, plus diagnosis and notes when MIMIC-CXR-JPG / note folders are
 * given, with a dataset card.
 *
 * Memory stays bounded: the event tables are streamed once each; each kept event is appended to
 * its stay's buffer, and buffers are flushed to per-stay temporary files (under the output
 * folder, removed at the end) whenever they together exceed `bufferBytes`. Episodes are then
 * assembled one stay at a time.
 *
 * @module
 */
import { assignSplits, DEFAULT_SPLIT_SEED, seededRandom } from "../splits.ts";
import { getTask, SPLITS, type TaskCode } from "../tasks.ts";
import { formatCsvLine, type ListfileRow, writeListfile } from "../layout_writer.ts";
import type { Observation } from "../../features/observation.ts";
import { REFERENCE_CONFIG } from "../../features/discretizer_config.ts";
import {
  buildDatasetCard,
  type DatasetCard,
  type FunnelRow,
  writeDatasetCard,
} from "../dataset_card.ts";
import { cleanAndCheck } from "./clean.ts";
import { buildCohort, type CohortStay } from "./cohort.ts";
import { type CxrData, latestImage, readCxr } from "./cxr.ts";
import { CleaningLog, EpisodeWriter } from "./episode_sink.ts";
import {
  decompensationLabel,
  decompensationTimes,
  IHM_HOURS,
  inHospitalMortality,
  lengthOfStayLabel,
  lengthOfStayTimes,
  phenotypeLabels,
  pickOne,
  type StayTimeline,
} from "./labels.ts";
import {
  locateMimicTables,
  type MimicLayout,
  parseMimicTime,
  readTable,
  scanTable,
} from "./mimic_tables.ts";
import { type NoteSections, readNoteSections } from "./notes.ts";
import { Progress } from "./progress.ts";
import { DEFAULT_RESOURCES_DIR, loadExtractResources } from "./resources.ts";

/** Options for {@linkcode extractMimic}. */
export interface MimicExtractOptions {
  /** Folder of the raw MIMIC tables. */
  inDir: string;
  /** Output dataset folder. */
  outDir: string;
  /** MIMIC-CXR-JPG folder (metadata and CheXpert tables), for images and the diagnosis task. */
  cxrDir?: string;
  /** Notes folder (MIMIC-IV-Note or a MIMIC-III NOTEEVENTS table). */
  notesDir?: string;
  /**
   * Folder of the mapping tables.
   * @default {DEFAULT_RESOURCES_DIR}
   */
  resourcesDir?: string;
  /**
   * Seed of the patient split and of the one-hour-per-stay sampling.
   * @default {42}
   */
  seed?: number;
  /**
   * Progress bars on stderr.
   * @default {false}
   */
  progress?: boolean;
  /**
   * Characters of buffered events before they are flushed to temporary files.
   * @default {33554432}
   */
  bufferBytes?: number;
}

/** What the extraction wrote. */
export interface MimicExtractResult {
  flavor: MimicLayout["flavor"];
  /** Stays of the cohort. */
  stays: number;
  /** Episode files written. */
  episodes: number;
  /** Samples per task code. */
  samples: Partial<Record<TaskCode, number>>;
  /** Wall time in seconds. */
  elapsedSeconds: number;
  /** The dataset card written beside the data. */
  card: DatasetCard;
}

const HOUR_MS = 3600 * 1000;
const EPS = 1e-6;
const round6 = (x: number) => Number(x.toFixed(6));

/**
 * Runs the extraction.
 *
 * @example
 * ```ts ignore
 * const r = await extractMimic({ inDir: "mimic-iii-demo", outDir: "data/mimic-demo" });
 * console.log(r.stays, r.samples);
 * ```
 */
export async function extractMimic(options: MimicExtractOptions): Promise<MimicExtractResult> {
  const started = performance.now();
  const resources = await loadExtractResources(options.resourcesDir ?? DEFAULT_RESOURCES_DIR);
  const layout = await locateMimicTables(options.inDir);
  for (const t of ["patients", "admissions", "icustays", "chartevents"] as const) {
    if (layout.tables[t] === undefined) {
      throw new Error(`No ${t} table (${t}.csv or ${t}.csv.gz) found in "${options.inDir}"`);
    }
  }
  const iv = layout.flavor === "mimic-iv";
  const log = new CleaningLog();
  const notes: string[] = [];

  // --- Cohort -------------------------------------------------------------------------------
  const patients = (await readTable(layout.tables.patients!, [
    "subject_id",
    "gender",
    "?dob",
    "?dod",
    "?anchor_age",
    "?anchor_year",
  ])).map(([subjectId, gender, dob, dod, anchorAge, anchorYear]) => ({
    subjectId: subjectId!,
    gender: gender!,
    dob: parseMimicTime(dob!),
    dod: parseMimicTime(dod!),
    anchorAge: anchorAge === "" ? Number.NaN : Number(anchorAge),
    anchorYear: anchorYear === "" ? Number.NaN : Number(anchorYear),
  }));
  const admissions = (await readTable(layout.tables.admissions!, [
    "subject_id",
    "hadm_id",
    "admittime",
    "dischtime",
    "?deathtime",
  ])).map(([subjectId, hadmId, a, d, death]) => ({
    subjectId: subjectId!,
    hadmId: hadmId!,
    admittime: parseMimicTime(a!),
    dischtime: parseMimicTime(d!),
    deathtime: parseMimicTime(death!),
  }));
  const icuRows = await readTable(layout.tables.icustays!, [
    "subject_id",
    "hadm_id",
    "icustay_id|stay_id",
    "intime",
    "outtime",
    "?los",
    "first_careunit",
    "last_careunit",
    "?first_wardid",
    "?last_wardid",
  ]);
  const icustays = [];
  for (const [subjectId, hadmId, stayId, inT, outT, los, fc, lc, fw, lw] of icuRows) {
    const intime = parseMimicTime(inT!);
    const outtime = parseMimicTime(outT!);
    if (Number.isNaN(intime) || Number.isNaN(outtime)) {
      log.count("(ICU stays)", "rejected: missing in/out time");
      continue;
    }
    const losDays = los === "" ? Number.NaN : Number(los);
    icustays.push({
      subjectId: subjectId!,
      hadmId: hadmId!,
      stayId: stayId!,
      intime,
      outtime,
      losHours: Number.isFinite(losDays) ? losDays * 24 : (outtime - intime) / HOUR_MS,
      firstCareunit: fc!,
      lastCareunit: lc!,
      firstWardid: fw!,
      lastWardid: lw!,
    });
  }
  const cohort = buildCohort(icustays, admissions, patients, {
    mortalityRule: iv ? "mimic-iv" : "mimic-iii",
  });
  const stays = cohort.stays;
  const staysBySubject = new Map<string, CohortStay[]>();
  for (const s of stays) {
    const list = staysBySubject.get(s.subjectId) ?? [];
    list.push(s);
    staysBySubject.set(s.subjectId, list);
  }
  const cohortAdmissions = new Set(stays.map((s) => s.hadmId));

  // --- Events -> per-stay temporary files ----------------------------------------------------
  await Deno.mkdir(options.outDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: options.outDir, prefix: ".extract-tmp-" });
  try {
    const buffers = new Map<string, string>();
    let buffered = 0;
    const limit = options.bufferBytes ?? 32 * 1024 * 1024;
    const flush = async () => {
      for (const [stayId, text] of buffers) {
        await Deno.writeTextFile(`${tmp}/${stayId}.tsv`, text, { append: true });
      }
      buffers.clear();
      buffered = 0;
    };
    const channelIndex = REFERENCE_CONFIG.channelIndex;
    const eventTables = (["chartevents", "labevents"] as const).filter((t) =>
      layout.tables[t] !== undefined
    );
    for (const table of eventTables) {
      const path = layout.tables[table]!;
      const size = (await Deno.stat(path)).size;
      const bar = new Progress(table.toUpperCase(), size, {
        enabled: options.progress ?? false,
        unit: "bytes",
      });
      let rowsRead = 0;
      let otherItems = 0;
      const rows = await scanTable(
        path,
        ["subject_id", "?icustay_id|stay_id", "itemid", "charttime", "value", "?valueuom"],
        ([subjectId, stayId, itemid, charttime, value, unit]) => {
          rowsRead++;
          const item = resources.items.get(itemid!);
          if (item === undefined) {
            otherItems++;
            return;
          }
          const channel = item.channel;
          const candidates = staysBySubject.get(subjectId!);
          if (candidates === undefined) {
            log.count(channel, "skipped: patient not in cohort");
            return;
          }
          const t = parseMimicTime(charttime!);
          if (Number.isNaN(t)) {
            log.count(channel, "rejected: bad charttime");
            return;
          }
          let stay = stayId === "" ? undefined : candidates.find((s) => s.stayId === stayId);
          stay ??= candidates.find((s) => s.intime <= t && t <= s.outtime);
          if (stay === undefined) {
            log.count(channel, "skipped: outside cohort ICU stays");
            return;
          }
          const hours = (t - stay.intime) / HOUR_MS;
          if (!(hours > -EPS && hours < stay.losHours + EPS)) {
            log.count(channel, "skipped: outside ICU stay window");
            return;
          }
          const cleaned = cleanAndCheck(
            channel,
            { value: value!, unit: unit!, label: item.label },
            resources.ranges,
          );
          if (!cleaned.ok) {
            log.count(channel, `rejected: ${cleaned.reason}`);
            return;
          }
          log.count(channel, "kept");
          for (const action of cleaned.actions) log.count(channel, `cleaned: ${action}`);
          const line = `${round6(hours)}\t${channelIndex.get(channel)}\t${cleaned.value}\n`;
          buffers.set(stay.stayId, (buffers.get(stay.stayId) ?? "") + line);
          buffered += line.length;
          if (buffered > limit) return flush();
        },
        { onBytes: (b) => bar.update(b, `${rowsRead} rows`) },
      );
      bar.finish(`${rows} rows`);
      log.count("(event rows)", `${table} rows read`, rows);
      log.count("(event rows)", `${table} rows of other items`, otherItems);
    }
    await flush();

    // --- Diagnoses, DRG, notes, CXR ---------------------------------------------------------
    const diagnoses = new Map<string, string[]>();
    if (layout.tables.diagnoses_icd !== undefined) {
      await scanTable(
        layout.tables.diagnoses_icd,
        ["hadm_id", "icd9_code|icd_code"],
        ([hadm, code]) => {
          if (!cohortAdmissions.has(hadm!) || code === "") return;
          const list = diagnoses.get(hadm!) ?? [];
          list.push(code!);
          diagnoses.set(hadm!, list);
        },
      );
    } else notes.push("No DIAGNOSES_ICD table: phenotyping labels are all 0.");
    const ccs = iv ? resources.ccsIcd10 : resources.ccsIcd9;

    const drgByAdmission = new Map<
      string,
      { key: string; type: string; code: string; description: string }
    >();
    const drgRank = (type: string) => ["HCFA", "MS"].indexOf(type.toUpperCase());
    if (layout.tables.drgcodes !== undefined) {
      await scanTable(
        layout.tables.drgcodes,
        ["hadm_id", "drg_type", "drg_code", "?description"],
        ([hadm, type, code, description]) => {
          if (!cohortAdmissions.has(hadm!) || drgRank(type!) < 0 || code!.trim() === "") return;
          const old = drgByAdmission.get(hadm!);
          if (old !== undefined && drgRank(old.type) <= drgRank(type!)) return;
          const t = type!.toUpperCase();
          drgByAdmission.set(hadm!, {
            key: `${t}:${code!.trim()}`,
            type: t,
            code: code!.trim(),
            description: description!,
          });
        },
      );
    } else notes.push("No DRGCODES table: no DRG task.");

    let noteSections = new Map<string, NoteSections>();
    if (options.notesDir !== undefined) {
      const read = await readNoteSections(options.notesDir, cohortAdmissions);
      noteSections = read.sections;
      notes.push(
        `Notes from ${read.file}: ${read.notesRead} notes read, sections for ${noteSections.size} cohort admissions.`,
      );
    }
    let cxr: CxrData | null = null;
    if (options.cxrDir !== undefined) {
      cxr = await readCxr(options.cxrDir, new Set(staysBySubject.keys()));
      await Deno.mkdir(`${options.outDir}/cxr`, { recursive: true });
      const lines = [formatCsvLine(["dicom_id", "source_path"])];
      for (const [dicom, path] of cxr.paths) lines.push(formatCsvLine([dicom, path]));
      await Deno.writeTextFile(`${options.outDir}/cxr/image_sources.csv`, lines.join("\n") + "\n");
      notes.push(
        `CXR: ${cxr.paths.size} AP images of cohort patients listed in cxr/image_sources.csv (paths relative to ${options.cxrDir}); resize them into cxr/resized/<dicom_id>.jpg before training.`,
      );
    }

    // --- Episodes and samples ---------------------------------------------------------------
    const writer = new EpisodeWriter(options.outDir);
    const random = seededRandom(options.seed ?? DEFAULT_SPLIT_SEED);
    const rows: Record<TaskCode, ListfileRow[]> = {
      ihm: [],
      dec: [],
      phe: [],
      los: [],
      rea: [],
      dia: [],
      drg: [],
    };
    const drgKeys = new Set<string>();
    for (const s of drgByAdmission.values()) drgKeys.add(s.key);
    const drgClasses = [...drgKeys].sort((a, b) => {
      const [ta, ca] = a.split(":") as [string, string];
      const [tb, cb] = b.split(":") as [string, string];
      return ta.localeCompare(tb) || Number(ca) - Number(cb) || ca.localeCompare(cb);
    });
    const drgIndex = new Map(drgClasses.map((k, i) => [k, i]));
    const bar = new Progress("episodes", stays.length, {
      enabled: options.progress ?? false,
      unit: "stays",
    });
    let done = 0;
    let withoutEvents = 0;
    const writtenNames = new Set<string>();
    for (const stay of stays) {
      bar.update(++done);
      const observations = await readStayEvents(`${tmp}/${stay.stayId}.tsv`);
      const note = noteSections.get(stay.hadmId);
      const pmh = note?.pastMedicalHistory ?? "";
      const images = cxr?.imagesBySubject.get(stay.subjectId);
      const dicomAt = (hours: number) =>
        latestImage(images, stay.intime, stay.intime + hours * HOUR_MS)?.dicomId ?? "";
      const base = { subjectId: stay.subjectId, stayId: stay.stayId };
      const los = round6(stay.losHours);
      let episode = "";
      if (observations.length === 0) {
        withoutEvents++;
      } else {
        const name = `${stay.subjectId}_episode${stay.episode}_timeseries.csv`;
        const written = await writer.write(name, observations);
        for (const [channel, n] of written.duplicates) {
          log.count(channel, "merged: same time as a later value (last kept)", n);
        }
        episode = name;
        writtenNames.add(name);
        const timeline: StayTimeline = {
          losHours: stay.losHours,
          firstEventHours: written.firstHours,
          mortality: stay.mortalityInHospital,
          deathHours: Number.isNaN(stay.deathtime)
            ? Number.NaN
            : (stay.deathtime - stay.intime) / HOUR_MS,
        };
        const ihm = inHospitalMortality(timeline);
        if (ihm !== null) {
          rows.ihm.push({
            ...base,
            episode,
            time: IHM_HOURS,
            dicomId: dicomAt(IHM_HOURS),
            note: pmh,
            labels: [ihm],
          });
        }
        const decT = pickOne(decompensationTimes(timeline), random);
        if (decT !== undefined) {
          rows.dec.push({
            ...base,
            episode,
            time: decT,
            dicomId: dicomAt(decT),
            note: pmh,
            labels: [decompensationLabel(timeline, decT)],
          });
        }
        const losT = pickOne(lengthOfStayTimes(timeline), random);
        if (losT !== undefined) {
          rows.los.push({
            ...base,
            episode,
            time: losT,
            dicomId: dicomAt(losT),
            note: pmh,
            labels: [lengthOfStayLabel(timeline, losT)],
          });
        }
        rows.phe.push({
          ...base,
          episode,
          time: los,
          dicomId: dicomAt(stay.losHours),
          note: pmh,
          labels: phenotypeLabels(diagnoses.get(stay.hadmId) ?? [], ccs),
        });
        if (stay.readmission !== null) {
          rows.rea.push({
            ...base,
            episode,
            time: los,
            dicomId: dicomAt(stay.losHours),
            note: pmh,
            labels: [stay.readmission],
          });
        }
      }
      const drg = drgByAdmission.get(stay.hadmId);
      if (drg !== undefined) {
        rows.drg.push({
          ...base,
          episode,
          time: episode === "" ? "" : los,
          dicomId: dicomAt(stay.losHours),
          note: note?.briefHospitalCourse ?? "",
          labels: [drgIndex.get(drg.key)!],
        });
      }
    }
    bar.finish();
    if (cxr !== null) rows.dia = diagnosisRows(cxr, stays, admissions, noteSections, writtenNames);

    // --- Splits and listfiles -----------------------------------------------------------------
    const subjects = new Set<string>(stays.map((s) => s.subjectId));
    for (const r of rows.dia) subjects.add(String(r.subjectId));
    const splitOf = assignSplits(subjects, { seed: options.seed ?? DEFAULT_SPLIT_SEED });
    const samples: Partial<Record<TaskCode, number>> = {};
    for (const code of Object.keys(rows) as TaskCode[]) {
      const list = rows[code];
      if (code === "dia" && cxr === null) continue;
      if (code === "drg" && layout.tables.drgcodes === undefined) continue;
      const task = getTask(code);
      for (const split of SPLITS) {
        await writeListfile(
          options.outDir,
          task,
          split,
          list.filter((r) => splitOf.get(String(r.subjectId)) === split),
        );
      }
      samples[code] = list.length;
    }
    if (layout.tables.drgcodes !== undefined) {
      const counts = new Map<string, number>();
      for (const d of drgByAdmission.values()) counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
      const byKey = new Map([...drgByAdmission.values()].map((d) => [d.key, d]));
      const lines = [formatCsvLine(["class", "drg_type", "drg_code", "description", "admissions"])];
      drgClasses.forEach((key, i) => {
        const d = byKey.get(key)!;
        lines.push(formatCsvLine([i, d.type, d.code, d.description, counts.get(key) ?? 0]));
      });
      await Deno.writeTextFile(`${options.outDir}/drg/drg_classes.csv`, lines.join("\n") + "\n");
    }

    const funnel: FunnelRow[] = cohort.funnel.map((f) => ({ ...f }));
    funnel.push({
      step: "with events in the ICU (episode written)",
      stays: stays.length - withoutEvents,
      admissions: stays.length - withoutEvents,
      subjects: new Set(rows.phe.map((r) => String(r.subjectId))).size,
    });
    notes.push(
      `${layout.flavor.toUpperCase()} from ${options.inDir}; patient split 70/10/20 with seed ${
        options.seed ?? DEFAULT_SPLIT_SEED
      }; one random hour per stay for decompensation and length of stay.`,
      `DRG classes: ${drgClasses.length} (CMS DRG types HCFA, else MS; table in drg/drg_classes.csv).`,
      `Phenotypes from ${iv ? "icd_9_10_definitions.yaml" : "hcup_ccs_2015_definitions.yaml"}.`,
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    const card = await buildDatasetCard(options.outDir, {
      title: `Dataset card: ${layout.flavor.toUpperCase()} extraction`,
      source: options.inDir,
      cohort: funnel,
      cleaning: log.toJSON(),
      notes,
      elapsedSeconds,
      coverage: writer.coverage(),
    });
    await writeDatasetCard(options.outDir, card);
    return {
      flavor: layout.flavor,
      stays: stays.length,
      episodes: writer.coverage().episodes,
      samples,
      elapsedSeconds,
      card,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function readStayEvents(path: string): Promise<Observation[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const channels = REFERENCE_CONFIG.channels;
  const out: Observation[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [h, c, v] = line.split("\t") as [string, string, string];
    const channel = channels[Number(c)]!;
    const categorical = REFERENCE_CONFIG.categorical[Number(c)];
    out.push({ hours: Number(h), channel, value: categorical ? v : Number(v) });
  }
  // Stable: same-time values keep file (chart) order, so the last charted one wins.
  out.sort((a, b) => a.hours - b.hours);
  return out;
}

/**
 * Diagnosis samples (FlexCare `create_diagnosis.py`): one per AP study of a cohort patient with
 * CheXpert labels; the time series of the ICU stay the study fell in when it was taken after
 * hour 4 of the stay, else none; the note of the admission the study fell in.
 */
function diagnosisRows(
  cxr: CxrData,
  stays: readonly CohortStay[],
  admissions: readonly {
    subjectId: string;
    hadmId: string;
    admittime: number;
    dischtime: number;
  }[],
  notes: ReadonlyMap<string, NoteSections>,
  episodes: ReadonlySet<string>,
): ListfileRow[] {
  const bySubjectStays = new Map<string, CohortStay[]>();
  for (const s of stays) {
    bySubjectStays.set(s.subjectId, [...(bySubjectStays.get(s.subjectId) ?? []), s]);
  }
  const bySubjectAdm = new Map<string, typeof admissions[number][]>();
  for (const a of admissions) {
    bySubjectAdm.set(a.subjectId, [...(bySubjectAdm.get(a.subjectId) ?? []), a]);
  }
  const rows: ListfileRow[] = [];
  for (const [subjectId, images] of cxr.imagesBySubject) {
    const lastOfStudy = new Map<string, (typeof images)[number]>();
    for (const img of images) lastOfStudy.set(img.studyId, img);
    for (const img of lastOfStudy.values()) {
      const labels = cxr.labels.get(`${subjectId}/${img.studyId}`);
      if (labels === undefined) continue;
      const stay = bySubjectStays.get(subjectId)?.find((s) =>
        s.intime <= img.time && img.time <= s.outtime
      );
      const period = stay === undefined ? Number.NaN : (img.time - stay.intime) / HOUR_MS;
      const name = stay === undefined ? "" : `${subjectId}_episode${stay.episode}_timeseries.csv`;
      const withSeries = stay !== undefined && period > 4 && episodes.has(name);
      const adm = bySubjectAdm.get(subjectId)?.find((a) =>
        a.admittime <= img.time && img.time <= a.dischtime
      );
      rows.push({
        subjectId,
        stayId: stay?.stayId ?? "",
        episode: withSeries ? name : "",
        time: withSeries ? round6(period) : "",
        dicomId: img.dicomId,
        note: adm === undefined ? "" : notes.get(adm.hadmId)?.pastMedicalHistory ?? "",
        labels,
      });
    }
  }
  return rows;
}
