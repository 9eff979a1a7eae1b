/**
 * Prometheus metrics: request counts by route pattern and status, a request latency histogram,
 * active stays, inference time per graph, and the backend as an info gauge (`GET /metrics`,
 * text exposition format 0.0.4). Labels carry route patterns, never stay ids.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { StayService } from "../src/session/types.ts";
import type { FlexCareModel } from "../src/model/flexcare_model.ts";

/** Upper bounds of the latency histogram buckets, seconds. */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The request metrics of one app. */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();

  /** Records one answered request. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const hkey = `${method}\u0000${route}`;
    let h = this.#latency.get(hkey);
    if (h === undefined) {
      h = { counts: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(hkey, h);
    }
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) h.counts[i]!++;
    }
    h.sum += seconds;
    h.count++;
  }

  /** Total requests recorded. */
  get total(): number {
    let n = 0;
    for (const v of this.#requests.values()) n += v;
    return n;
  }

  /** The exposition text. */
  render(service: StayService | undefined, model: FlexCareModel | undefined): string {
    const lines: string[] = [];
    lines.push("# HELP flexcare_http_requests_total HTTP requests answered, by route and status.");
    lines.push("# TYPE flexcare_http_requests_total counter");
    for (const [key, n] of [...this.#requests].sort()) {
      const [method, route, status] = key.split("\u0000");
      lines.push(
        `flexcare_http_requests_total{method="${method}",route="${
          escapeLabel(route!)
        }",status="${status}"} ${n}`,
      );
    }
    lines.push("# HELP flexcare_http_request_duration_seconds HTTP request latency.");
    lines.push("# TYPE flexcare_http_request_duration_seconds histogram");
    for (const [key, h] of [...this.#latency].sort()) {
      const [method, route] = key.split("\u0000");
      const labels = `method="${method}",route="${escapeLabel(route!)}"`;
      LATENCY_BUCKETS.forEach((le, i) => {
        lines.push(
          `flexcare_http_request_duration_seconds_bucket{${labels},le="${le}"} ${h.counts[i]}`,
        );
      });
      lines.push(`flexcare_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      lines.push(`flexcare_http_request_duration_seconds_sum{${labels}} ${h.sum}`);
      lines.push(`flexcare_http_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    if (service !== undefined) {
      const s = service.stats();
      lines.push("# HELP flexcare_active_stays Admitted and not discharged stays.");
      lines.push("# TYPE flexcare_active_stays gauge");
      lines.push(`flexcare_active_stays ${s.activeStays}`);
      lines.push("# HELP flexcare_stays Stays in the store (active and retained discharged).");
      lines.push("# TYPE flexcare_stays gauge");
      lines.push(`flexcare_stays ${s.stays}`);
      lines.push("# HELP flexcare_resident_stays Stays whose state is in memory.");
      lines.push("# TYPE flexcare_resident_stays gauge");
      lines.push(`flexcare_resident_stays ${s.residentStays}`);
      const counters: [string, string, string, number | undefined][] = [
        [
          "flexcare_step_runs_total",
          "counter",
          "Model steps run (one pass for all tasks).",
          s.stepRuns,
        ],
        [
          "flexcare_recomputes_total",
          "counter",
          "Late-data recomputes (one pass over a stay's pending hours).",
          s.recomputes,
        ],
        [
          "flexcare_queued_steps",
          "gauge",
          "Steps waiting or running: step-running writes and pending recompute hours.",
          s.queuedSteps,
        ],
        [
          "flexcare_writes_refused_total",
          "counter",
          "Writes refused with 503 because the step queue was full.",
          s.refusedWrites,
        ],
        [
          "flexcare_writes_abandoned_total",
          "counter",
          "Writes dropped unstored because their client went away before they started.",
          s.abandonedWrites,
        ],
      ];
      for (const [name, type, help, value] of counters) {
        if (value === undefined) continue;
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
      }
    }
    if (model !== undefined) {
      lines.push("# HELP flexcare_backend_info The inference backend in use.");
      lines.push("# TYPE flexcare_backend_info gauge");
      lines.push(
        `flexcare_backend_info{backend="${model.runtime.backend}",detail="${
          escapeLabel(model.runtime.detail)
        }",model="${escapeLabel(model.name)}",mask_mode="${model.manifest.mask_mode}"} 1`,
      );
      lines.push("# HELP flexcare_inference_runs_total Graph runs, by graph.");
      lines.push("# TYPE flexcare_inference_runs_total counter");
      for (const [name, g] of model.graphs) {
        lines.push(`flexcare_inference_runs_total{graph="${name}"} ${g.stats.runs}`);
      }
      lines.push("# HELP flexcare_inference_seconds_total Time spent in graph runs, by graph.");
      lines.push("# TYPE flexcare_inference_seconds_total counter");
      for (const [name, g] of model.graphs) {
        lines.push(`flexcare_inference_seconds_total{graph="${name}"} ${g.stats.totalMs / 1000}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

/** Middleware timing every request and recording it under its route pattern. */
export function metricsMiddleware(
  metrics: Metrics,
  onDone?: (line: string, status: number) => void,
): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const matched = routePath(c, -1);
    const route = matched === "" || matched === "*" || matched === "/*" ? "unmatched" : matched;
    const ms = performance.now() - start;
    metrics.observe(c.req.method, route, c.res.status, ms / 1000);
    onDone?.(`${c.req.method} ${route} ${c.res.status} ${ms.toFixed(1)}ms`, c.res.status);
  };
}
