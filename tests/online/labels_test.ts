/**
 * The labels the service derives from an outcome (`sampleLabel`) equal the MIMIC-III demo
 * extraction's listfiles for the same stays and hours (IHM, DEC, LOS): one implementation,
 * shared with `src/data/`. (PhysioNet 2012 through a real server: `outcomes_http_test.ts`.)
 */
import { assert, assertEquals } from "../assert.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
import { extractMimic } from "../../src/data/extract/mimic.ts";
import { readMimicCohort } from "../../src/data/extract/mimic_cohort.ts";
import { locateMimicTables } from "../../src/data/extract/mimic_tables.ts";
import { CleaningLog } from "../../src/data/extract/episode_sink.ts";
import { parseCsv } from "../../src/data/csv.ts";
import { parseEpisodeCsv } from "../../src/features/episode.ts";
import { sampleLabel } from "../../src/online/outcome.ts";

const DEMO = "data/mimic-iii-demo";
const HOUR = 3_600_000;

Deno.test({
  name: "online labels: equal the MIMIC-III demo extraction's IHM, DEC and LOS labels",
  ignore: sharedMissing(DEMO),
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "flexcare-online-labels-" });
    try {
      await extractMimic({ inDir: `${SHARED_DIR}/${DEMO}`, outDir: out });
      const cohort = await readMimicCohort(
        await locateMimicTables(`${SHARED_DIR}/${DEMO}`),
        new CleaningLog(),
      );
      const stays = new Map(cohort.stays.map((s) => [s.stayId, s]));
      const firstObs = new Map<string, number>();
      let compared = 0, positives = 0;
      const tasks = [
        { code: "ihm", folder: "in-hospital-mortality", kind: "binary", outputs: 1 },
        { code: "dec", folder: "decompensation", kind: "binary", outputs: 1 },
        { code: "los", folder: "length-of-stay", kind: "multiclass", outputs: 10 },
      ] as const;
      for (const task of tasks) {
        for (const split of ["train", "val", "test"]) {
          const text = await Deno.readTextFile(
            `${out}/${task.folder}/${split}_multimodal_listfile.csv`,
          );
          for (const { fields } of parseCsv(text).slice(1)) {
            const [, stayId, episode, time] = fields;
            const stay = stays.get(stayId!)!;
            assert(stay !== undefined, `stay ${stayId}`);
            let first = firstObs.get(episode!);
            if (first === undefined) {
              const rows = parseEpisodeCsv(await Deno.readTextFile(`${out}/ehr/${episode}`));
              first = Math.min(...rows.map((r) => r.hours));
              firstObs.set(episode!, first);
            }
            // What a hospital would post: death and its time, the end of the ICU stay.
            const outcome = {
              died: stay.mortalityInHospital === 1,
              deathHours: Number.isNaN(stay.deathtime)
                ? null
                : (stay.deathtime - stay.intime) / HOUR,
              dischargeHours: stay.losHours,
              labels: {},
            };
            const y = sampleLabel(
              { code: task.code, kind: task.kind, outputs: task.outputs, labels: [] },
              Number(time),
              outcome,
              first,
            );
            assertEquals(y, [Number(fields.at(-1))], `${task.code} of ${stayId} at ${time}`);
            compared++;
            if (task.code !== "los" && y?.[0] === 1) positives++;
          }
        }
      }
      assert(compared > 150, `compared ${compared}`);
      assert(positives > 5, `positive IHM/DEC labels ${positives}`);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
