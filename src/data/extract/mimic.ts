/**
 * `flexcare extract mimic`: raw MIMIC-III or MIMIC-IV tables to the reference dataset layout
 * (`../shared/spec/data.md`) for in-hospital mortality, decompensation, phenotyping, length of
 * stay, readmission and DRG, plus diagnosis and notes when MIMIC-CXR-JPG / note folders are
 * given, with a dataset card.
 *
 * Steps: the cohort (`mimic_cohort.ts`), the event tables streamed once each into per-stay spool
 * files (`event_spool.ts`, bounded memory), diagnoses and DRG codes of the cohort admissions,
 * optional notes and images, then one stay at a time: its episode file and its samples. The spool
 * lives in a temporary folder inside the output folder and is removed at the end.
 *
 * @module
 */
import { seededRandom } from "../random.ts";
import { assignSplits, DEFAULT_SPLIT_SEED } from "../splits.ts";
import { getTask, SPLITS, type TaskCode } from "../tasks.ts";
import { formatCsvLine, type ListfileRow, writeListfile } from "../layout_writer.ts";
import {
  buildDatasetCard,
  type DatasetCard,
  type FunnelRow,
  writeDatasetCard,
} from "../dataset_card.ts";
import {
  type AdmissionDrg,
  drgClasses,
  formatDrgClassTable,
  readDiagnoses,
  readDrgCodes,
} from "./admission_tables.ts";
import type { AdmissionRecord, CohortStay } from "./cohort.ts";
import { type CxrData, latestImage, readCxr } from "./cxr.ts";
import { CleaningLog, EpisodeWriter } from "./episode_sink.ts";
import { EventSpool, spoolEvents } from "./event_spool.ts";
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
import { readMimicCohort } from "./mimic_cohort.ts";
import { writeStayMetadata } from "../stay_metadata.ts";
import { locateMimicTables, type MimicLayout } from "./mimic_tables.ts";
import { type NoteSections, readNoteSections } from "./notes.ts";
import { Progress } from "./progress.ts";
import { type CcsDefinitions, DEFAULT_RESOURCES_DIR, loadExtractResources } from "./resources.ts";

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
   * Characters of buffered events before they are flushed to the spool files.
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
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Everything the per-stay sample builder looks up. */
interface SampleContext {
  diagnoses: ReadonlyMap<string, string[]>;
  ccs: CcsDefinitions;
  drgByAdmission: ReadonlyMap<string, AdmissionDrg>;
  drgIndex: ReadonlyMap<string, number>;
  notes: ReadonlyMap<string, NoteSections>;
  cxr: CxrData | null;
  random: () => number;
}

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
  const seed = options.seed ?? DEFAULT_SPLIT_SEED;
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
  const { stays, funnel, admissions } = await readMimicCohort(layout, log);
  const staysBySubject = new Map<string, CohortStay[]>();
  for (const s of stays) {
    staysBySubject.set(s.subjectId, [...(staysBySubject.get(s.subjectId) ?? []), s]);
  }
  const cohortAdmissions = new Set(stays.map((s) => s.hadmId));

  await Deno.mkdir(options.outDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: options.outDir, prefix: ".extract-tmp-" });
  try {
    const spool = new EventSpool(tmp, { limit: options.bufferBytes ?? 32 * 1024 * 1024 });
    for (const table of ["chartevents", "labevents"] as const) {
      const path = layout.tables[table];
      if (path === undefined) continue;
      await spoolEvents(path, {
        resources,
        staysBySubject,
        spool,
        log,
        label: table,
        progress: options.progress ?? false,
      });
    }
    await spool.flush();

    const diagnoses = layout.tables.diagnoses_icd === undefined
      ? new Map<string, string[]>()
      : await readDiagnoses(layout.tables.diagnoses_icd, cohortAdmissions);
    if (layout.tables.diagnoses_icd === undefined) {
      notes.push("No DIAGNOSES_ICD table: phenotyping labels are all 0.");
    }
    const drgByAdmission = layout.tables.drgcodes === undefined
      ? new Map<string, AdmissionDrg>()
      : await readDrgCodes(layout.tables.drgcodes, cohortAdmissions);
    const classes = drgClasses(drgByAdmission.values());

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
      const placed = await placeCxrImages(
        options.cxrDir,
        `${options.outDir}/cxr/resized`,
        cxr.paths,
      );
      notes.push(
        `CXR: ${cxr.paths.size} AP images of cohort patients listed in cxr/image_sources.csv (paths relative to ${options.cxrDir}); ${placed.placed} placed in cxr/resized/<dicom_id>.jpg (hard link, or copy across file systems; the preprocessing resizes any size), ${placed.missing} listed but not found.`,
      );
    }

    // One stay at a time: its episode, then its samples.
    const context: SampleContext = {
      diagnoses,
      ccs: iv ? resources.ccsIcd10 : resources.ccsIcd9,
      drgByAdmission,
      drgIndex: new Map(classes.map((k, i) => [k, i])),
      notes: noteSections,
      cxr,
      random: seededRandom(seed),
    };
    const writer = new EpisodeWriter(options.outDir);
    const rows: Record<TaskCode, ListfileRow[]> = {
      ihm: [],
      dec: [],
      phe: [],
      los: [],
      rea: [],
      dia: [],
      drg: [],
    };
    const bar = new Progress("episodes", stays.length, {
      enabled: options.progress ?? false,
      unit: "stays",
    });
    const written = new Set<string>();
    let done = 0;
    for (const stay of stays) {
      bar.update(++done);
      const observations = await spool.read(stay.stayId);
      let episode: { name: string; firstHours: number } | null = null;
      if (observations.length > 0) {
        const name = `${stay.subjectId}_episode${stay.episode}_timeseries.csv`;
        const w = await writer.write(name, observations);
        for (const [channel, n] of w.duplicates) {
          log.count(channel, "merged: same time as a later value (last kept)", n);
        }
        written.add(name);
        episode = { name, firstHours: w.firstHours };
      } else {
        log.count("(ICU stays)", "no events in the ICU (no episode, no time-series samples)");
      }
      for (const [code, row] of staySamples(stay, episode, context)) {
        // A sample needs a modality: a DRG admission whose stay had no ICU events, no image
        // and no note section gives the model nothing to read.
        if (row.episode === "" && row.dicomId === "" && row.note === "") {
          log.count("(ICU stays)", `${code} sample skipped: no time series, image or note`);
          continue;
        }
        rows[code].push(row);
      }
    }
    bar.finish();
    if (cxr !== null) rows.dia = diagnosisRows(cxr, stays, admissions, noteSections, written);

    // Splits by patient, listfiles, the DRG class table.
    const subjects = new Set<string>(stays.map((s) => s.subjectId));
    for (const r of rows.dia) subjects.add(String(r.subjectId));
    const splitOf = assignSplits(subjects, { seed });
    const samples: Partial<Record<TaskCode, number>> = {};
    for (const code of Object.keys(rows) as TaskCode[]) {
      if (code === "dia" && cxr === null) continue;
      if (code === "drg" && layout.tables.drgcodes === undefined) continue;
      for (const split of SPLITS) {
        const list = rows[code].filter((r) => splitOf.get(String(r.subjectId)) === split);
        await writeListfile(options.outDir, getTask(code), split, list);
      }
      samples[code] = rows[code].length;
    }
    if (layout.tables.drgcodes !== undefined) {
      await Deno.writeTextFile(
        `${options.outDir}/drg/drg_classes.csv`,
        formatDrgClassTable(classes, drgByAdmission.values()),
      );
    } else notes.push("No DRGCODES table: no DRG task.");

    const cohortRows: FunnelRow[] = funnel.map((f) => ({ ...f }));
    cohortRows.push({
      step: "with events in the ICU (episode written)",
      stays: written.size,
      admissions: written.size,
      subjects: new Set(rows.phe.map((r) => String(r.subjectId))).size,
    });
    notes.push(
      `${layout.flavor.toUpperCase()} from ${options.inDir}; patient split 70/10/20 with seed ${seed}; one random hour per stay for decompensation and length of stay.`,
      `DRG classes: ${classes.length} (CMS DRG types HCFA, else MS; table in drg/drg_classes.csv).`,
      `Phenotypes from ${iv ? "icd_9_10_definitions.yaml" : "hcup_ccs_2015_definitions.yaml"}.`,
    );
    await writeStayMetadata(
      options.outDir,
      stays.map((st) => ({
        stayId: st.stayId,
        subjectId: st.subjectId,
        unit: st.firstCareunit,
        age: st.age,
        sex: st.gender === "F" || st.gender === "M" ? st.gender : "",
        admissionType: st.admissionType,
      })),
    );
    notes.push(
      "stays.csv holds each cohort stay's first care unit, age, sex and admission type for subgroup reports (eval --by unit, age_band, sex, admission_type).",
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    const card = await buildDatasetCard(options.outDir, {
      title: `Dataset card: ${layout.flavor.toUpperCase()} extraction`,
      source: options.inDir,
      cohort: cohortRows,
      cleaning: log.toJSON(),
      notes,
      elapsedSeconds,
      coverage: writer.coverage(),
    });
    await writeDatasetCard(options.outDir, card);
    return {
      flavor: layout.flavor,
      stays: stays.length,
      episodes: written.size,
      samples,
      elapsedSeconds,
      card,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * The samples of one stay (mimic3-benchmarks / FlexCare task scripts): time-series tasks only
 * when the stay has an episode; DRG whenever its admission has a DRG code.
 */
function staySamples(
  stay: CohortStay,
  episode: { name: string; firstHours: number } | null,
  context: SampleContext,
): [TaskCode, ListfileRow][] {
  const out: [TaskCode, ListfileRow][] = [];
  const note = context.notes.get(stay.hadmId);
  const pmh = note?.pastMedicalHistory ?? "";
  const images = context.cxr?.imagesBySubject.get(stay.subjectId);
  const dicomAt = (hours: number) =>
    latestImage(images, stay.intime, stay.intime + hours * HOUR_MS)?.dicomId ?? "";
  const los = round6(stay.losHours);
  const row = (
    episodeName: string,
    time: number | "",
    dicomHours: number,
    text: string,
    labels: number[],
  ) => ({
    subjectId: stay.subjectId,
    stayId: stay.stayId,
    episode: episodeName,
    time,
    dicomId: dicomAt(dicomHours),
    note: text,
    labels,
  });
  if (episode !== null) {
    const timeline: StayTimeline = {
      losHours: stay.losHours,
      firstEventHours: episode.firstHours,
      mortality: stay.mortalityInHospital,
      deathHours: Number.isNaN(stay.deathtime)
        ? Number.NaN
        : (stay.deathtime - stay.intime) / HOUR_MS,
    };
    const ihm = inHospitalMortality(timeline);
    if (ihm !== null) out.push(["ihm", row(episode.name, IHM_HOURS, IHM_HOURS, pmh, [ihm])]);
    const decT = pickOne(decompensationTimes(timeline), context.random);
    if (decT !== undefined) {
      out.push(["dec", row(episode.name, decT, decT, pmh, [decompensationLabel(timeline, decT)])]);
    }
    const losT = pickOne(lengthOfStayTimes(timeline), context.random);
    if (losT !== undefined) {
      out.push(["los", row(episode.name, losT, losT, pmh, [lengthOfStayLabel(timeline, losT)])]);
    }
    const phenotypes = phenotypeLabels(context.diagnoses.get(stay.hadmId) ?? [], context.ccs);
    out.push(["phe", row(episode.name, los, stay.losHours, pmh, phenotypes)]);
    if (stay.readmission !== null) {
      out.push(["rea", row(episode.name, los, stay.losHours, pmh, [stay.readmission])]);
    }
  }
  const drg = context.drgByAdmission.get(stay.hadmId);
  if (drg !== undefined) {
    const course = note?.briefHospitalCourse ?? "";
    const index = context.drgIndex.get(drg.key)!;
    out.push([
      "drg",
      row(episode?.name ?? "", episode === null ? "" : los, stay.losHours, course, [index]),
    ]);
  }
  return out;
}

/**
 * Diagnosis samples (FlexCare `create_diagnosis.py`): one per AP study of a cohort patient with
 * CheXpert labels (its last image); the episode of the ICU stay the study fell in when it was
 * taken after hour 4 of the stay, else none; the note of the admission the study fell in.
 */
function diagnosisRows(
  cxr: CxrData,
  stays: readonly CohortStay[],
  admissions: readonly AdmissionRecord[],
  notes: ReadonlyMap<string, NoteSections>,
  episodes: ReadonlySet<string>,
): ListfileRow[] {
  const staysOf = new Map<string, CohortStay[]>();
  for (const s of stays) staysOf.set(s.subjectId, [...(staysOf.get(s.subjectId) ?? []), s]);
  const admissionsOf = new Map<string, AdmissionRecord[]>();
  for (const a of admissions) {
    admissionsOf.set(a.subjectId, [...(admissionsOf.get(a.subjectId) ?? []), a]);
  }
  const rows: ListfileRow[] = [];
  for (const [subjectId, images] of cxr.imagesBySubject) {
    const lastOfStudy = new Map<string, (typeof images)[number]>();
    for (const img of images) lastOfStudy.set(img.studyId, img);
    for (const img of lastOfStudy.values()) {
      const labels = cxr.labels.get(`${subjectId}/${img.studyId}`);
      if (labels === undefined) continue;
      const stay = staysOf.get(subjectId)?.find((s) =>
        s.intime <= img.time && img.time <= s.outtime
      );
      const period = stay === undefined ? Number.NaN : (img.time - stay.intime) / HOUR_MS;
      const name = stay === undefined ? "" : `${subjectId}_episode${stay.episode}_timeseries.csv`;
      const withSeries = period > 4 && episodes.has(name);
      const admission = admissionsOf.get(subjectId)?.find((a) =>
        a.admittime <= img.time && img.time <= a.dischtime
      );
      rows.push({
        subjectId,
        stayId: stay?.stayId ?? "",
        episode: withSeries ? name : "",
        time: withSeries ? round6(period) : "",
        dicomId: img.dicomId,
        note: admission === undefined ? "" : notes.get(admission.hadmId)?.pastMedicalHistory ?? "",
        labels,
      });
    }
  }
  return rows;
}

/**
 * Puts each listed MIMIC-CXR-JPG file at `cxr/resized/<dicom_id>.jpg` of the output dataset:
 * a hard link where the file systems allow it (no copy of a large archive), a copy otherwise.
 * The images keep their size: the shared preprocessing resizes any size at training and serving.
 */
async function placeCxrImages(
  cxrDir: string,
  outDir: string,
  paths: ReadonlyMap<string, string>,
): Promise<{ placed: number; missing: number }> {
  await Deno.mkdir(outDir, { recursive: true });
  let placed = 0;
  let missing = 0;
  for (const [dicom, path] of paths) {
    const from = `${cxrDir}/${path}`;
    const to = `${outDir}/${dicom}.jpg`;
    try {
      await Deno.remove(to).catch(() => {});
      await Deno.link(from, to).catch(() => Deno.copyFile(from, to));
      placed++;
    } catch {
      missing++;
    }
  }
  return { placed, missing };
}
