/**
 * `GET /v1/models`: the loaded model — name, version, tasks, backend and its detail, graphs
 * with run statistics, mask mode, whether staged inference is used, the backbone hash, and the
 * fine-tuned heads served for it (`heads`, weight-free) with those refused (`refusedHeads`:
 * name and reason, e.g. trained on another base model), and where the service learns online
 * (`onlineHeads`) every head version per task with its lineage, the incumbent, the candidate and
 * drift.
 *
 * `POST /v1/models/reload`: loads the heads folder again without a restart and swaps the new
 * registry in at once (requests in flight finish with the old one); answers
 * `{heads: [...], refused: [{name, reason}]}`.
 *
 * @module
 */
import { Hono } from "hono";
import type { RouteDeps } from "./deps.ts";

/** The model route. */
export function modelRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  app.post("/v1/models/reload", async (c) => {
    const model = deps.model();
    const view = await deps.reloadHeads(model);
    return c.json({ heads: view.heads, refused: view.refused });
  });
  app.get("/v1/models", async (c) => {
    const model = deps.model();
    const view = await deps.heads(model);
    const m = model.manifest;
    return c.json({
      models: [{
        name: model.name,
        version: m.created_at ?? model.hash.slice(0, 12),
        hash: model.hash,
        maskMode: m.mask_mode,
        staged: model.staged,
        backend: model.runtime.backend,
        backendDetail: model.runtime.detail,
        tasks: m.tasks.map((t) => ({
          code: t.code,
          id: t.id,
          kind: t.kind,
          outputs: t.outputs,
          labels: t.labels,
          ...(m.calibration?.tasks[t.code] === undefined
            ? {}
            : { temperature: m.calibration.tasks[t.code]!.temperature }),
        })),
        heads: view.heads,
        refusedHeads: view.refused,
        ...onlineView(deps),
        combinations: m.combinations,
        noteEncoder: m.note_encoder.kind,
        graphs: [...model.graphs].map(([name, g]) => ({
          name,
          file: m.graphs[name]?.file ?? null,
          runs: g.stats.runs,
          totalMs: g.stats.totalMs,
        })),
        ...(m.created_by === undefined ? {} : { createdBy: m.created_by }),
        ...(m.created_at === undefined ? {} : { createdAt: m.created_at }),
      }],
    });
  });
  return app;
}

function onlineView(deps: RouteDeps): Record<string, unknown> {
  const learner = deps.onlineIfAny();
  if (learner === undefined) return {};
  return {
    onlineHeads: learner.tasks().map((task) => {
      const v = learner.describeTask(task);
      return {
        task,
        update: v["update"],
        incumbent: v["incumbent"],
        candidate: v["candidate"],
        awaitingApproval: v["awaitingApproval"],
        versions: v["versions"],
        drift: v["drift"],
      };
    }),
  };
}
