/**
 * SIGKILL durability: a child process replays three stays against a data folder and prints
 * `ack <key>` after each write returned; the test kills it at random moments, checks that every
 * acknowledged write is in the log, restarts it (it re-sends from the top; idempotency keys make
 * that safe) and finally compares every stored event and prediction with an uninterrupted run.
 *
 * The child uses the TypeScript stand-in model (it starts in well under a second, so many kills
 * fit in a few seconds); `FLEXCARE_KILL_MODEL=<model dir>` runs it on a real model instead
 * (`FLEXCARE_KILLS`, default 20, and `FLEXCARE_KILL_BUDGET_S`, default 25, bound the kills).
 * Recovery with the real tiny model is tested in-process in `service_test.ts`.
 */
import { assert, assertEquals } from "../assert.ts";
import { EventStore } from "../../src/session/store.ts";
import { createStayService } from "../../src/session/service.ts";
import { fakeModel } from "./_fake_model.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import { REPLAY_STAYS, replayWrites, runReplay } from "./_replay_script.ts";
import { prng } from "./_data.ts";
import type { StayPrediction } from "../../src/session/types.ts";

const CHILD = new URL("./_replay_child.ts", import.meta.url).pathname;
const KILLS = Number(Deno.env.get("FLEXCARE_KILLS") ?? 20);
const KILL_BUDGET_MS = 1000 * Number(Deno.env.get("FLEXCARE_KILL_BUDGET_S") ?? 25);

interface RunOutcome {
  acks: string[];
  done: boolean;
  killed: boolean;
}

/** When to kill: `delayMs` after the child acknowledged `newAcks` writes not acknowledged before. */
interface KillPlan {
  readonly newAcks: number;
  readonly delayMs: number;
}

/** Runs the child, killing it as planned (never when `plan` is undefined). */
async function runChild(
  modelDir: string,
  dataDir: string,
  plan: KillPlan | undefined,
  known: ReadonlySet<string>,
): Promise<RunOutcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, modelDir, dataDir],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const acks: string[] = [];
  let done = false;
  let killed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let fresh = 0;
  const kill = () => {
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  const stderr = new Response(child.stderr).text();
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of child.stdout) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith("ack ")) {
        const key = line.slice(4);
        acks.push(key);
        if (!known.has(key)) fresh += 1;
        if (plan !== undefined && fresh === plan.newAcks && timer === undefined) {
          timer = setTimeout(kill, plan.delayMs);
        }
      } else if (line === "done") done = true;
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  const errors = await stderr;
  if (!killed && status.code !== 0) throw new Error(`Child failed (${status.code}): ${errors}`);
  // A kill that came after the child finished is not a kill.
  return { acks, done, killed: killed && !done };
}

/**
 * Every acknowledged key has its stored response in the log (stored with its events in one
 * transaction). Returns how many writes are stored, acknowledged or not (committed just before
 * the kill, the acknowledgement not yet printed).
 */
function assertAcknowledgedStored(dataDir: string, acked: ReadonlySet<string>): number {
  const store = EventStore.open(dataDir);
  try {
    for (const key of acked) {
      const stayId = key.slice(0, key.indexOf("-w"));
      assert(store.idempotency(stayId, key) !== undefined, `acknowledged write ${key} was lost`);
    }
    return store.counts().idempotency;
  } finally {
    store.close();
  }
}

function dump(dataDir: string): Record<string, { events: unknown[]; predictions: unknown[] }> {
  const store = EventStore.open(dataDir);
  try {
    const out: Record<string, { events: unknown[]; predictions: unknown[] }> = {};
    for (const stayId of REPLAY_STAYS) {
      out[stayId] = {
        events: store.events(stayId).map((e) => [e.seq, e.kind, e.hours, e.payload, e.eventId]),
        predictions: store.predictions(stayId).map(({ createdAt: _, ...p }: StayPrediction) => p),
      };
    }
    return out;
  } finally {
    store.close();
  }
}

Deno.test({
  name:
    "SIGKILL at random moments loses no acknowledged write; recovery equals an uninterrupted run",
  fn: async () => {
    const modelDir = Deno.env.get("FLEXCARE_KILL_MODEL") ?? "fake";
    const reference = await Deno.makeTempDir({ prefix: "flexcare-kill-ref-" });
    const dataDir = await Deno.makeTempDir({ prefix: "flexcare-kill-" });
    try {
      // Uninterrupted reference, in-process, all stays resident.
      const model = modelDir === "fake"
        ? fakeModel()
        : await FlexCareModel.load(modelDir, { backend: "wasm", offThread: true });
      const service = await createStayService({ dataDir: reference, model, sweepIntervalMs: 0 });
      await runReplay(service, () => {});
      await service.close();
      if (model instanceof FlexCareModel) await model.close();
      const expected = dump(reference);
      const totalWrites = REPLAY_STAYS.reduce((n, s, k) => n + replayWrites(s, k).length, 0);

      const rand = prng(2024);
      const acked = new Set<string>();
      const started = Date.now();
      let kills = 0;
      let runs = 0;
      let unacknowledgedStored = 0;
      let progressAtKill = 0;
      while (true) {
        const overBudget = Date.now() - started > KILL_BUDGET_MS;
        // Kill after 1-4 new acknowledgements, 0-15 ms later: right after an acknowledgement
        // or in the middle of the next write (validation, model steps, the commit).
        const plan = kills < KILLS && !overBudget
          ? { newAcks: 1 + Math.floor(rand() * 4), delayMs: Math.floor(rand() * 16) }
          : undefined;
        const outcome = await runChild(modelDir, dataDir, plan, acked);
        runs += 1;
        for (const key of outcome.acks) acked.add(key);
        if (outcome.killed) {
          kills += 1;
          progressAtKill += outcome.acks.length;
          unacknowledgedStored += assertAcknowledgedStored(dataDir, acked) - acked.size;
          continue;
        }
        assert(outcome.done, "the uninterrupted last run finished");
        break;
      }
      assertEquals(acked.size, totalWrites);
      assertEquals(dump(dataDir), expected);
      console.log(
        `${kills} kills in ${runs} runs (${
          ((Date.now() - started) / 1000).toFixed(1)
        } s), ${totalWrites} writes: ${progressAtKill} acknowledgements (re-sends included) printed by killed children, every one found in the log after the kill; ${unacknowledgedStored} times a write was committed but the kill came before its acknowledgement`,
      );
      // The stand-in model restarts in well under a second; a real one may use up the budget.
      assert(kills >= (modelDir === "fake" ? Math.min(KILLS, 5) : 1), `only ${kills} kills`);
    } finally {
      await Deno.remove(reference, { recursive: true }).catch(() => {});
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
