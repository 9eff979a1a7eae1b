/**
 * Outcomes over a real socket, on the default model with the real PhysioNet 2012 records:
 * labels derived by the service equal the importer's for the same stays; the base head read
 * from the graph reproduces the published probabilities; refusals name the field; a promotion
 * the plan forbids is 409 and logged.
 */
import { assert, assertEquals } from "../assert.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
import { planOf, startServe } from "./_serve.ts";
import { importPhysionet2012 } from "../../src/data/import/physionet2012.ts";
import { readPhysionetStays, streamStays } from "../../src/cli/replay.ts";
import { parseCsv } from "../../src/data/csv.ts";

const P12 = "data/physionet-2012";

/** Copies a few set-a records (survivors and in-hospital deaths, one dying early) and their outcomes. */
async function sampleSet(dir: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${SHARED_DIR}/${P12}/Outcomes-a.txt`);
  const lines = text.trim().split("\n");
  const rows = lines.slice(1).map((l) => l.split(","));
  const died = rows.filter((r) => r[5] === "1");
  const early = died.filter((r) => Number(r[4]) >= 0 && Number(r[4]) <= 2).slice(0, 2);
  const picked = [
    ...rows.filter((r) => r[5] === "0").slice(0, 5),
    ...died.slice(0, 3),
    ...early,
  ];
  const ids = [...new Set(picked.map((r) => r[0]!))];
  await Deno.mkdir(`${dir}/set-a`, { recursive: true });
  for (const id of ids) {
    await Deno.copyFile(`${SHARED_DIR}/${P12}/set-a/${id}.txt`, `${dir}/set-a/${id}.txt`);
  }
  await Deno.writeTextFile(
    `${dir}/Outcomes-a.txt`,
    [lines[0], ...rows.filter((r) => ids.includes(r[0]!)).map((r) => r.join(","))].join("\n") +
      "\n",
  );
  return ids;
}

async function listfile(dir: string, folder: string): Promise<string[][]> {
  const out: string[][] = [];
  for (const split of ["train", "val", "test"]) {
    const text = await Deno.readTextFile(`${dir}/${folder}/${split}_multimodal_listfile.csv`);
    out.push(...parseCsv(text).slice(1).map((r) => r.fields));
  }
  return out;
}

Deno.test({
  name:
    "online HTTP: PhysioNet 2012 labels equal the importer's; base heads equal the graph; refusals",
  ignore: sharedMissing(P12),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "flexcare-online-http-" });
    const served = await startServe(
      `${tmp}/service`,
      planOf({
        ihm: { update: "locked", metric: "auroc", referenceSamples: 0 },
        dec: { update: "locked", metric: "auroc", referenceSamples: 0 },
        los: { update: "locked", metric: "macro_f1", referenceSamples: 0 },
      }),
    );
    const post = (path: string, body: unknown) =>
      fetch(`${served.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const get = async (path: string) => {
      const res = await fetch(`${served.url}${path}`);
      assertEquals(res.status, 200, path);
      return await res.json();
    };
    try {
      const ids = await sampleSet(`${tmp}/p12`);
      await importPhysionet2012({ inDir: `${tmp}/p12`, outDir: `${tmp}/imported`, sets: ["a"] });
      const stays = await readPhysionetStays(`${tmp}/p12`, { prefix: "t" });
      assertEquals(stays.length, ids.length);
      const streamed = await streamStays({
        url: served.url,
        stays,
        outcomes: true,
        speed: Infinity,
        admitEveryMinutes: 30,
        concurrency: 4,
        start: "2012-01-01T00:00:00Z",
      });
      assertEquals(streamed.refused, {});

      // Every listfile row of the importer has the same label in the service, at the same hour.
      let compared = 0;
      for (
        const [task, folder] of [
          ["ihm", "in-hospital-mortality"],
          ["dec", "decompensation"],
          ["los", "length-of-stay"],
        ]
      ) {
        for (const row of await listfile(`${tmp}/imported`, folder!)) {
          const [, stay, , time] = row;
          const label = Number(row.at(-1));
          const { samples } = await get(`/v1/stays/t-a-${stay}/outcomes`);
          const s = (samples as { task: string; hours: number; label: number[] | null }[])
            .find((x) => x.task === task && Math.abs(x.hours - Number(time)) < 1e-6);
          assert(s !== undefined, `${task} of ${stay} at ${time}: no kept prediction`);
          assertEquals(s.label, [label], `${task} of ${stay} at ${time}`);
          compared++;
        }
      }
      assert(compared >= 2 * ids.length, `compared ${compared}`);
      const deaths = await listfile(`${tmp}/imported`, "in-hospital-mortality");
      assert(deaths.some((r) => r.at(-1) === "1") && deaths.some((r) => r.at(-1) === "0"));

      // The base head (read from the graph's initializers) reproduces the published IHM, from
      // the float16 representation kept.
      const { evaluations } = await get("/v1/online/ihm/evaluations");
      assertEquals(evaluations.length, ids.length);
      for (const e of evaluations as { stayId: string; hours: number; base: number[] }[]) {
        const { predictions } = await get(`/v1/stays/${e.stayId}/predictions`);
        const published = (predictions as { task: string; hours: number; probability: number }[])
          .filter((p) => p.task === "ihm" && p.hours === e.hours).at(-1)!;
        assert(
          Math.abs(published.probability - e.base[0]!) < 2e-3,
          `${e.stayId}: ${published.probability} vs ${e.base[0]}`,
        );
      }

      // Refusals name the field; nothing is stored by them.
      const id = stays[0]!.id;
      const refusals: [unknown, number, string][] = [
        [{ labels: { nope: 1 } }, 422, "labels.nope"],
        [{ labels: { ihm: 2 } }, 422, "labels.ihm"],
        [{ labels: { los: "forever" } }, 422, "labels.los"],
        [{ labels: { los: [0, 1] } }, 422, "labels.los"],
        [{ dischargeTime: "2011-12-31T00:00:00Z" }, 422, "dischargeTime"],
        [{ deathTime: -3 }, 422, "deathTime"],
        [{ died: true }, 422, "deathTime"],
        [{}, 422, "(body)"],
        [{ died: !stays[0]!.outcome.died, deathTime: 10 }, 409, "died"],
        [{ dischargeTime: stays[0]!.outcome.dischargeTime + 5 }, 409, "dischargeTime"],
      ];
      const before = await get(`/v1/stays/${id}/outcomes`);
      for (const [body, status, field] of refusals) {
        const res = await post(`/v1/stays/${id}/outcomes`, body);
        const json = await res.json();
        assertEquals([res.status, json.field], [status, field], JSON.stringify(body));
      }
      assertEquals(await get(`/v1/stays/${id}/outcomes`), before);
      assertEquals((await post("/v1/stays/nobody/outcomes", { died: false })).status, 404);
      // An explicit label of a served task, then the same eventId again: one change.
      const first = await post(`/v1/stays/${id}/outcomes`, { eventId: "e1", labels: { ihm: 1 } });
      assertEquals(first.status, 201);
      const again = await post(`/v1/stays/${id}/outcomes`, { eventId: "e1", labels: { ihm: 1 } });
      assertEquals([again.status, (await again.json()).duplicate], [200, true]);
      await first.body?.cancel();
      const after = await get(`/v1/stays/${id}/outcomes`);
      assertEquals(after.outcome.labels, { ihm: [1] });

      // The plan locks the heads: a promotion is refused (409) and written to the change log.
      const promote = await post("/v1/heads/ihm/promote", { by: "dr-a", version: 1 });
      assertEquals(promote.status, 409);
      assertEquals((await promote.json()).error, "plan_forbids");
      const { changes } = await get("/v1/online/changelog");
      const refused = (changes as { action: string; task: string; actor: string }[])
        .filter((c) => c.action === "promotion refused");
      assertEquals(refused.map((c) => [c.task, c.actor]), [["ihm", "person:dr-a"]]);
      const ndjson = await fetch(`${served.url}/v1/online/changelog`, {
        headers: { accept: "application/x-ndjson" },
      });
      assertEquals(ndjson.headers.get("content-type"), "application/x-ndjson");
      assertEquals((await ndjson.text()).trim().split("\n").length, changes.length);

      // GET /v1/models lists the head versions with lineage; /metrics has the drift gauges.
      const models = await get("/v1/models");
      const heads = models.models[0].onlineHeads as { task: string; versions: unknown[] }[];
      assertEquals(heads.map((h) => h.task).sort(), ["dec", "ihm", "los"]);
      assert(heads.every((h) => h.versions.length === 1));
      const metrics = await (await fetch(`${served.url}/metrics`)).text();
      assert(metrics.includes(`flexcare_online_incumbent_version{task="ihm"} 1`));
      assert(metrics.includes(`flexcare_online_labelled_samples{task="dec"}`));
    } finally {
      await served.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
