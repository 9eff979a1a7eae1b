/**
 * Bearer-token authentication and per-client rate limits (token buckets) for `/v1`.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { timingSafeEqual } from "node:crypto";
import { ServiceError } from "../src/session/errors.ts";

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * Requires `Authorization: Bearer <token>` with one of `tokens` (compared in constant time);
 * 401 otherwise. The matched token's index is stored as the client key for rate limits.
 */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler {
  if (tokens.length === 0) throw new TypeError("bearerAuth needs at least one token");
  for (const t of tokens) {
    if (t.length < 16 || /\s/.test(t)) {
      throw new TypeError("Bearer tokens must be at least 16 characters without whitespace");
    }
  }
  const hashes = Promise.all(tokens.map(digest));
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      c.header("WWW-Authenticate", 'Bearer realm="flexcare"');
      throw new ServiceError(401, "unauthorized", "Authorization: Bearer <token> is required");
    }
    const given = await digest(match[1]!);
    const index = (await hashes).findIndex((h) => timingSafeEqual(h, given));
    if (index < 0) {
      c.header("WWW-Authenticate", 'Bearer realm="flexcare", error="invalid_token"');
      throw new ServiceError(401, "unauthorized", "The bearer token is not valid");
    }
    c.set("client" as never, `token:${index}` as never);
    await next();
  };
}

/** Rate-limit settings: a bucket of `burst` requests refilled at `perSecond`. */
export interface RateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

/** The client key: the token when authenticated, else the peer address (loopback). */
export function clientKey(c: Context): string {
  const fromAuth = c.get("client" as never) as string | undefined;
  if (fromAuth !== undefined) return fromAuth;
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return `ip:${env?.remoteAddr?.hostname ?? "local"}`;
}

/**
 * Token-bucket rate limit per client key; 429 with `Retry-After` when a bucket is empty.
 *
 * @example Two requests, the second refused
 * ```ts
 * import { Hono } from "hono";
 * import { rateLimit } from "./protect.ts";
 * const app = new Hono();
 * app.use(rateLimit({ burst: 1, perSecond: 0.001 }));
 * app.onError((_e, c) => c.text("limited", 429));
 * app.get("/", (c) => c.text("ok"));
 * if ((await app.request("/")).status !== 200) throw new Error();
 * if ((await app.request("/")).status !== 429) throw new Error();
 * ```
 */
export function rateLimit(
  limit: RateLimit,
  now: () => number = () => performance.now(),
): MiddlewareHandler {
  if (!(limit.burst >= 1) || !(limit.perSecond > 0)) {
    throw new TypeError("rateLimit needs burst >= 1 and perSecond > 0");
  }
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async (c, next) => {
    const key = clientKey(c);
    const t = now();
    let b = buckets.get(key);
    if (b === undefined) {
      if (buckets.size > 10_000) buckets.clear();
      b = { tokens: limit.burst, at: t };
      buckets.set(key, b);
    }
    b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
    b.at = t;
    if (b.tokens < 1) {
      c.header("Retry-After", String(Math.ceil((1 - b.tokens) / limit.perSecond)));
      throw new ServiceError(429, "rate_limited", "Too many requests: slow down and retry later");
    }
    b.tokens -= 1;
    await next();
  };
}
