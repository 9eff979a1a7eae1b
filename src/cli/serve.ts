/**
 * `flexcare serve`: starts the HTTP service on loopback.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createApp } from "../../routes/app.ts";
import { UsageError } from "./usage_error.ts";

/** Options for {@linkcode serve}. */
export interface ServeOptions {
  /** @default {8787} */
  port?: number;
  /** @default {"127.0.0.1"} */
  host?: string;
  /** Aborting it stops the server. */
  signal?: AbortSignal;
  /** Called with the bound port once listening. */
  onListen?: (port: number) => void;
}

/** Starts the service and resolves when it stops. */
export async function serve(options: ServeOptions = {}): Promise<void> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host)) {
    throw new UsageError(
      `Refusing to bind to non-loopback address ${
        JSON.stringify(host)
      }: authentication is not configured`,
    );
  }
  const app = createApp();
  const server = Deno.serve({
    hostname: host,
    port: options.port ?? 8787,
    ...(options.signal ? { signal: options.signal } : {}),
    onListen: ({ hostname, port }) => {
      console.error(`flexcare listening on http://${hostname}:${port}`);
      options.onListen?.(port);
    },
  }, app.fetch);
  await server.finished;
}

/** Whether a host name or address is on the loopback interface. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
    },
    strict: true,
  });
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer 0-65535, got ${JSON.stringify(values.port)}`);
  }
  await serve({ port, ...(values.host ? { host: values.host } : {}) });
  return 0;
}
