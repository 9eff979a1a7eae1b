/**
 * The online learner on synthetic representations (no model needed, the learner's Worker
 * runs the jobs): a candidate that ranks better is promoted by the plan and serves; a person
 * rolls back; a restart resumes the same heads, state and logs; a stream whose labels turn to
 * noise never gets a candidate promoted; an approval plan waits for a person, within the
 * plan's hard limits.
 */
import { assert, assertEquals } from "../assert.ts";
import { OnlineLearner } from "../../src/online/learner.ts";
import { parsePlan } from "../../src/online/plan.ts";
import type { LinearHead } from "../../src/finetune/linear_head.ts";
import { seededRandom } from "../../src/data/random.ts";
import { fromFloat16, toFloat16 } from "../../src/online/store.ts";
import { pairedBootstrap, planMetric } from "../../src/online/shadow.ts";
import { seededRandom as prng } from "../../src/eval/prng.ts";

const WIDTH = 8;
const TASKS = [{ code: "ihm", kind: "binary" as const, outputs: 1, labels: ["died"] }];
const ADMITTED = "2024-01-01T00:00:00Z";

function head(weights: number[], bias = 0): LinearHead {
  return {
    kind: "binary",
    inputs: WIDTH,
    outputs: 1,
    weights: Float32Array.from(weights),
    bias: Float32Array.of(bias),
  };
}

/** True relation: logit = 2 x0 - 2 x1 - 1. The "base" head only knows x0 (a weak head). */
const TRUE_W = [2, -2, 0, 0, 0, 0, 0, 0];
const WEAK = head([1, 0, 0, 0, 0, 0, 0, 0], -1);

function plan(update: string, extra: Record<string, unknown> = {}) {
  return parsePlan(
    {
      format: "flexcare-change-control",
      format_version: 1,
      heads: {
        ihm: {
          update,
          metric: "auroc",
          retrainEvery: 300,
          minEvaluationSamples: 300,
          minEvaluationStays: 300,
          referenceSamples: 200,
          resamples: 300,
          maxCalibrationIncrease: 0.05,
          maxCalibrationError: 0.2,
          ...extra,
        },
      },
    },
    new Map([["ihm", "binary"]]),
    "test plan",
  );
}

/** Streams `n` stays (one IHM sample each), `label` deciding each outcome. */
function stream(
  learner: OnlineLearner,
  from: number,
  n: number,
  label: (x: number[], r: () => number) => boolean,
  seed: number,
): void {
  const r = seededRandom(seed);
  for (let i = from; i < from + n; i++) {
    const x = Array.from({ length: WIDTH }, () => (r() + r() + r() - 1.5) * 1.4);
    const stayId = `s${i}`;
    learner.record(stayId, ADMITTED, 0.5, [{ task: "ihm", hours: 48, representation: x }]);
    const died = label(x, r);
    learner.addOutcome(stayId, ADMITTED, {
      eventId: `o${i}`,
      died,
      ...(died ? { deathTime: 60 } : {}),
      dischargeTime: 60,
    });
  }
}

const truth = (x: number[], r: () => number) => {
  const z = TRUE_W.reduce((s, w, i) => s + w * x[i]!, -1);
  return r() < 1 / (1 + Math.exp(-z));
};

Deno.test({
  name: "online learner: a better head is promoted, rolled back by a person, resumed after restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "flexcare-learner-" });
    const open = () =>
      OnlineLearner.open({
        dataDir,
        model: { hash: "a".repeat(64), name: "test" },
        tasks: TASKS,
        baseHeads: new Map([["ihm", WEAK]]),
        plan: plan("automatic"),
        log: () => {},
      });
    let learner = open();
    try {
      stream(learner, 0, 200 + 300, truth, 1);
      await learner.idle();
      const trained = learner.describeTask("ihm");
      assertEquals(trained["candidate"], 2, "a candidate after retrainEvery labels");
      stream(learner, 500, 300, truth, 2);
      await learner.idle();
      const promoted = learner.describeTask("ihm");
      assertEquals(promoted["incumbent"], 2, JSON.stringify(promoted["lastEvaluation"]));
      assertEquals(learner.servingVersion("ihm"), 2);
      const x = [1, -1, 0, 0, 0, 0, 0, 0];
      const served = learner.override("ihm", x)![0]!;
      assert(served > 0.7, `the promoted head serves: ${served} (the base head: 0.5)`);
      const changes = learner.changes();
      const promotion = changes.find((c) => c.action === "promoted")!;
      assertEquals(promotion.actor, "learner");
      const evidence = promotion.evidence as {
        comparison: { lower: number; a: number; b: number };
      };
      assert(evidence.comparison.lower > 0, "the paired bootstrap lower bound is above 0");
      assert(evidence.comparison.a > evidence.comparison.b);
      // The head version keeps its lineage.
      const v2 = (promoted["versions"] as { version: number; lineage: Record<string, unknown> }[])
        .find((v) => v.version === 2)!;
      assertEquals(v2.lineage["baseModel"], "a".repeat(64));
      assertEquals(v2.lineage["parent"], 1);

      // Prequential rows: the candidate predicted on samples it had not trained on.
      const rows = learner.evaluations("ihm");
      assertEquals(rows.length, 600, "every non-reference label is scored once");
      assert(rows.slice(300).every((r) => r.candidateVersion === 2 || r.incumbentVersion === 2));

      // A person rolls back; the change log records who and why.
      learner.rollback("ihm", "person:dr-b", undefined, "audit");
      assertEquals(learner.servingVersion("ihm"), 1);
      assertEquals(learner.override("ihm", x), null, "the base head serves again");
      const before = {
        changes: learner.changes().length,
        evaluations: learner.evaluations("ihm").length,
        task: learner.describeTask("ihm"),
      };
      assertEquals(learner.changes().at(-1)!.actor, "person:dr-b");
      await learner.close();

      // Restart: the same incumbent, versions, logs.
      learner = open();
      assertEquals(learner.servingVersion("ihm"), 1);
      assertEquals(learner.changes().length, before.changes);
      assertEquals(learner.evaluations("ihm").length, before.evaluations);
      const after = learner.describeTask("ihm");
      assertEquals(after["versions"], before.task["versions"]);
      assertEquals(after["incumbent"], before.task["incumbent"]);
      // Duplicate outcome after restart: nothing new.
      const dup = learner.addOutcome("s1", ADMITTED, { eventId: "o1", died: false });
      assertEquals(dup.duplicate, true);
      // And a person may promote version 2 again: it passed the plan's limits.
      learner.promote("ihm", "person:dr-c", 2, "re-review");
      assertEquals(learner.servingVersion("ihm"), 2);
    } finally {
      await learner.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "online learner: labels that turn to noise never get a candidate promoted",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "flexcare-learner-noise-" });
    // The base head is the true relation; the reference set (first 200 labels) is clean.
    const learner = OnlineLearner.open({
      dataDir,
      model: { hash: "b".repeat(64), name: "test" },
      tasks: TASKS,
      baseHeads: new Map([["ihm", head(TRUE_W, -1)]]),
      plan: plan("automatic"),
      log: () => {},
    });
    try {
      stream(learner, 0, 200, truth, 3);
      // Then every label is a coin flip.
      for (let k = 0; k < 7; k++) {
        stream(learner, 200 + 300 * k, 300, (_x, r) => r() < 0.3, 4 + k);
        await learner.idle();
      }
      const changes = learner.changes().filter((c) => c.task === "ihm");
      const decided = changes.filter((c) => c.action === "refused" || c.action === "promoted");
      assert(decided.length >= 3, `candidates decided: ${decided.length}`);
      assertEquals(decided.filter((c) => c.action === "promoted").length, 0);
      assertEquals(learner.servingVersion("ihm"), 1);
      // The refusals carry their evidence: the failed rules.
      for (const c of decided) {
        const rules = (c.evidence as { rules: { rule: string; passed: boolean }[] }).rules;
        assert(rules.some((r) => !r.passed), JSON.stringify(rules));
      }
    } finally {
      await learner.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "online learner: an approval plan waits for a person; locked heads train nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "flexcare-learner-approval-" });
    const learner = OnlineLearner.open({
      dataDir,
      model: { hash: "c".repeat(64), name: "test" },
      tasks: TASKS,
      baseHeads: new Map([["ihm", WEAK]]),
      plan: plan("approval"),
      log: () => {},
    });
    try {
      stream(learner, 0, 500, truth, 5);
      await learner.idle();
      stream(learner, 500, 300, truth, 15);
      await learner.idle();
      const waiting = learner.describeTask("ihm");
      assertEquals([waiting["awaitingApproval"], waiting["incumbent"]], [true, 1]);
      assertEquals(learner.changes().at(-1)!.action, "awaiting approval");
      learner.promote("ihm", "person:dr-d");
      assertEquals(learner.servingVersion("ihm"), 2);
      assertEquals(
        learner.changes().at(-1)!.evidence["manual"],
        true,
        "a manual promotion carries the shadow evidence",
      );
    } finally {
      await learner.close();
      await Deno.remove(dataDir, { recursive: true });
    }
    const lockedDir = await Deno.makeTempDir({ prefix: "flexcare-learner-locked-" });
    const locked = OnlineLearner.open({
      dataDir: lockedDir,
      model: { hash: "d".repeat(64), name: "test" },
      tasks: TASKS,
      baseHeads: new Map([["ihm", WEAK]]),
      plan: plan("locked"),
      log: () => {},
    });
    try {
      stream(locked, 0, 800, truth, 6);
      await locked.idle();
      assertEquals(locked.jobs, 0);
      let refused = 0;
      try {
        locked.promote("ihm", "person:dr-e", 1);
      } catch (error) {
        refused = (error as { status: number }).status;
      }
      assertEquals(refused, 409);
      assertEquals(locked.changes().at(-1)!.action, "promotion refused");
    } finally {
      await locked.close();
      await Deno.remove(lockedDir, { recursive: true });
    }
  },
});

Deno.test("online store: float16 keeps representations to 1e-3 relative", () => {
  const values = [0, 1, -1, 0.1234, -5.5, 65504, 1e-5, 3.14159, -0.000123];
  const back = fromFloat16(toFloat16(values));
  values.forEach((v, i) => {
    assert(Math.abs(back[i]! - v) <= Math.max(1e-3 * Math.abs(v), 1e-7), `${v} -> ${back[i]}`);
  });
  assertEquals(toFloat16(values).length, 2 * values.length);
});

Deno.test("online shadow: the paired bootstrap's fast metric path equals taskMetrics", () => {
  const r = seededRandom(9);
  const rows = Array.from({ length: 300 }, (_, i) => {
    const y = r() < 0.2 ? 1 : 0;
    const c = Math.floor(r() * 4);
    return {
      stayId: `s${i % 60}`,
      label: [y],
      a: [Math.min(1, Math.max(0, 0.3 * y + r() * 0.7))],
      b: [r()],
      mc: { label: [c], a: [r(), r(), r(), c === 2 ? 0.9 : 0.1], b: [r(), r(), r(), r()] },
    };
  });
  const naive = (kind: "binary" | "multiclass", metric: string, list: typeof rows) => {
    // The same resampling as pairedBootstrap, scored through planMetric.
    const byStay = new Map<string, number[]>();
    list.forEach((row, i) => byStay.set(row.stayId, [...(byStay.get(row.stayId) ?? []), i]));
    const stays = [...byStay.values()];
    const rand = prng(3);
    const diffs: number[] = [];
    const pick = (row: typeof rows[number]) => kind === "binary" ? row : row.mc;
    for (let k = 0; k < 100; k++) {
      const idx: number[] = [];
      for (let s = 0; s < stays.length; s++) idx.push(...stays[Math.floor(rand() * stays.length)]!);
      const y = idx.map((i) => pick(list[i]!).label);
      const da = planMetric(kind, metric, y, idx.map((i) => pick(list[i]!).a));
      const db = planMetric(kind, metric, y, idx.map((i) => pick(list[i]!).b));
      if (Number.isFinite(da) && Number.isFinite(db)) diffs.push(da - db);
    }
    return diffs.sort((x, y) => x - y);
  };
  for (
    const [kind, metric] of [["binary", "auroc"], ["binary", "auprc"], [
      "multiclass",
      "macro_f1",
    ]] as const
  ) {
    const input = rows.map((row) =>
      kind === "binary"
        ? row
        : { stayId: row.stayId, label: row.mc.label, a: row.mc.a, b: row.mc.b }
    );
    const fast = pairedBootstrap(input, kind, metric, { resamples: 100, confidence: 0.9, seed: 3 });
    const slow = naive(kind, metric, rows);
    const q = (p: number) => slow[Math.min(slow.length - 1, Math.floor(p * slow.length))]!;
    assertEquals(fast.resamples, slow.length, metric);
    assert(
      Math.abs(fast.lower - q(1 - 0.9)) < 1e-12 && Math.abs(fast.upper - q(0.9)) < 1e-12,
      `${metric}: ${fast.lower} ${q(1 - 0.9)} ${fast.upper} ${q(0.9)}`,
    );
  }
});
