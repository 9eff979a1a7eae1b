/**
 * `GET /v1/models`: the loaded model — name, version, tasks, backend and its detail, graphs
 * with run statistics, mask mode, whether staged inference is used, and the backbone hash.
 *
 * @module
 */
import { Hono } from "hono";
import type { RouteDeps } from "./deps.ts";

/** The model route. */
export function modelRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  app.get("/v1/models", (c) => {
    const model = deps.model();
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
        })),
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
