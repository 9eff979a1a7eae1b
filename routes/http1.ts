/**
 * The HTTP/1.1 server the service listens with: a `Deno.listen` socket per connection, parsed
 * here, handed to a fetch handler (`app.fetch`) as a web `Request`, answered with its
 * `Response`. It exists because `Deno.serve` gives a handler no way to learn that its client
 * went away before the answer (request cancellation is not supported in the request phase)
 * and has no header or body timeouts (2,000 half-sent requests were held open for 40 s).
 *
 * What it guarantees:
 * - **Header timeout**: a request's head (request line and headers, at most `maxHeadBytes`)
 *   must arrive within `headersTimeoutMs` of the connection opening or of the previous
 *   answer; else the connection is closed. Idle keep-alive connections therefore close too.
 * - **Body timeout**: a `Content-Length` body must arrive within `bodyTimeoutMs` of its head;
 *   a chunked body (NDJSON streams) may last longer but not pause more than `bodyTimeoutMs`
 *   between bytes. The handler's body read then fails, the answer is 408 and the connection
 *   closes.
 * - **Client gone**: `request.signal` aborts when the client closes its connection before the
 *   answer is written (the socket is watched while the handler runs); the stay service uses
 *   it to drop writes that have not started.
 * - A response body (SSE) is cancelled when writing to the client fails, so its producer stops.
 *
 * Supported: `Content-Length` and chunked request bodies, `Expect: 100-continue`, keep-alive
 * (HTTP/1.1 default, HTTP/1.0 with `Connection: keep-alive`), `HEAD`, streamed responses
 * (chunked). Not supported: pipelined requests are answered one at a time (as HTTP/1.1
 * requires), no HTTP/2, no upgrades (no WebSocket route exists).
 *
 * @module
 */

/** The fetch handler: Hono's `app.fetch` fits. */
export type FetchHandler = (
  request: Request,
  info: { remoteAddr: Deno.NetAddr },
) => Response | Promise<Response>;

/** Options of {@linkcode serveHttp1}. */
export interface Http1Options {
  hostname?: string;
  port?: number;
  /** Stops accepting, closes idle connections and lets answers in progress finish. */
  signal?: AbortSignal;
  onListen?: (addr: Deno.NetAddr) => void;
  /** @default {10000} */
  headersTimeoutMs?: number;
  /** @default {30000} */
  bodyTimeoutMs?: number;
  /** @default {32768} */
  maxHeadBytes?: number;
  /** Called when a connection fails in a way worth knowing (never for a client going away). */
  onError?: (error: unknown) => void;
  /** Serve HTTPS with this PEM certificate chain and private key (TLS without a proxy). */
  tls?: { readonly cert: string; readonly key: string };
}

/** A running server. */
export interface Http1Server {
  readonly addr: Deno.NetAddr;
  /** Resolves when the server stopped and every connection closed. */
  readonly finished: Promise<void>;
  /** Stops it (as aborting the signal does) and waits for `finished`. */
  shutdown(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF2 = new Uint8Array([13, 10, 13, 10]);

/** Thrown inside a connection: answer with `status` (when possible) and close. */
class ProtocolError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The error a handler's body read fails with when the body did not arrive within the body
 * timeout (the client's fault: the answer is 408 whatever the handler makes of it).
 */
export class RequestBodyTimeout extends Error {
  constructor() {
    super("The request body did not arrive in time");
    this.name = "RequestBodyTimeout";
  }
}

/** Thrown when the socket ended or a deadline passed: close without an answer. */
class Closed extends Error {}

const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Buffered reads from one socket, with a deadline per read. */
class SocketReader {
  #buffer = new Uint8Array(0);
  #pendingRead: Promise<Uint8Array | null> | undefined;
  #ended = false;
  readonly #conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  get ended(): boolean {
    return this.#ended && this.#buffer.length === 0;
  }

  /** One socket read (shared by whoever waits for it), `null` at the end. */
  #read(): Promise<Uint8Array | null> {
    this.#pendingRead ??= (async () => {
      const chunk = new Uint8Array(16384);
      try {
        const n = await this.#conn.read(chunk);
        if (n === null) {
          this.#ended = true;
          return null;
        }
        return chunk.subarray(0, n);
      } catch {
        this.#ended = true;
        return null;
      } finally {
        this.#pendingRead = undefined;
      }
    })();
    return this.#pendingRead;
  }

  /** Reads more into the buffer before `deadline` (ms since epoch); false at the end. */
  async fill(deadline: number): Promise<boolean> {
    if (this.#ended) return false;
    const chunk = await this.#readBefore(deadline);
    if (chunk === "timeout") throw new Closed("deadline");
    if (chunk === null) return false;
    this.#append(chunk);
    return true;
  }

  /** One read, or "timeout" once `deadline` passed (the read stays pending for the next). */
  async #readBefore(deadline: number): Promise<Uint8Array | null | "timeout"> {
    const wait = deadline - Date.now();
    if (wait <= 0) return "timeout";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), wait);
    });
    try {
      return await Promise.race([this.#read(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #append(chunk: Uint8Array): void {
    const next = new Uint8Array(this.#buffer.length + chunk.length);
    next.set(this.#buffer);
    next.set(chunk, this.#buffer.length);
    this.#buffer = next;
  }

  /** Resolves when the peer closes the socket; data arriving meanwhile is kept. */
  async watchEnd(stop: Promise<void>): Promise<boolean> {
    while (!this.#ended) {
      const r = await Promise.race([this.#read(), stop.then(() => "stop" as const)]);
      if (r === "stop") return false;
      if (r === null) return true;
      this.#append(r);
    }
    return true;
  }

  /** Bytes up to and including the head's blank line, or `null` at a clean end. */
  async head(deadline: number, max: number): Promise<Uint8Array | null> {
    while (true) {
      const at = indexOf(this.#buffer, CRLF2);
      if (at >= 0) {
        if (at + 4 > max) throw new ProtocolError(431, "Request head too large");
        return this.take(at + 4);
      }
      if (this.#buffer.length > max) throw new ProtocolError(431, "Request head too large");
      if (!(await this.fill(deadline))) {
        if (this.#buffer.length === 0) return null;
        throw new Closed("ended in the head");
      }
    }
  }

  /**
   * Reads and drops whatever the peer still sends, until it closes, `maxBytes` were dropped or
   * `deadline` passed: a lingering close, so that a client still sending a body it was answered
   * for (413, 408) reads the answer instead of a connection reset.
   */
  async discard(deadline: number, maxBytes: number): Promise<void> {
    let dropped = this.#buffer.length;
    this.#buffer = new Uint8Array(0);
    while (!this.#ended && dropped < maxBytes) {
      const chunk = await this.#readBefore(deadline);
      if (chunk === "timeout" || chunk === null) return;
      dropped += chunk.length;
    }
  }

  /** Takes `n` buffered bytes. */
  take(n: number): Uint8Array {
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** Takes up to `n` bytes, reading when nothing is buffered; `null` at the end. */
  async some(n: number, deadline: number): Promise<Uint8Array | null> {
    if (this.#buffer.length === 0 && !(await this.fill(deadline))) return null;
    return this.take(Math.min(n, this.#buffer.length));
  }

  /** A line ending in CRLF (without it). */
  async line(deadline: number, max = 4096): Promise<string> {
    while (true) {
      const at = indexOf(this.#buffer, new Uint8Array([13, 10]));
      if (at >= 0) {
        const text = decoder.decode(this.take(at));
        this.take(2);
        return text;
      }
      if (this.#buffer.length > max) throw new ProtocolError(400, "Chunk line too long");
      if (!(await this.fill(deadline))) throw new Closed("ended in a chunk");
    }
  }
}

interface Head {
  method: string;
  target: string;
  version: "1.0" | "1.1";
  headers: Headers;
}

function parseHead(bytes: Uint8Array): Head {
  const text = decoder.decode(bytes.subarray(0, bytes.length - 4));
  const lines = text.split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0] ?? "");
  if (m === null) throw new ProtocolError(400, "Malformed request line");
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) {
      throw new ProtocolError(400, "Malformed header line");
    }
    try {
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    } catch {
      throw new ProtocolError(400, "Invalid header");
    }
  }
  return { method: m[1]!, target: m[2]!, version: m[3] === "0" ? "1.0" : "1.1", headers };
}

/** The request body as a stream over the socket, with its deadlines. */
interface BodyState {
  done: boolean;
  failed: boolean;
  /** Called once the body is read to its end or failed. */
  settled: () => void;
}

function bodyStream(
  reader: SocketReader,
  head: Head,
  bodyTimeoutMs: number,
  onContinue: () => Promise<void>,
  state: BodyState,
): ReadableStream<Uint8Array> | null {
  const te = head.headers.get("transfer-encoding");
  const cl = head.headers.get("content-length");
  if (te !== null) {
    if (te.toLowerCase() !== "chunked") throw new ProtocolError(501, "Unsupported transfer coding");
    if (cl !== null) throw new ProtocolError(400, "Both Content-Length and Transfer-Encoding");
  }
  let remaining = 0;
  if (te === null) {
    if (cl === null || cl === "0") {
      state.done = true;
      state.settled();
      return null;
    }
    if (!/^\d{1,15}$/.test(cl)) throw new ProtocolError(400, "Invalid Content-Length");
    remaining = Number(cl);
  }
  const chunked = te !== null;
  const started = Date.now();
  // A fixed-length body has one deadline; a chunked stream may not pause longer than the limit.
  const deadline = () => chunked ? Date.now() + bodyTimeoutMs : started + bodyTimeoutMs;
  let continued = false;
  let chunkLeft = 0;
  let finished = false;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: Error) => {
    state.failed = true;
    state.settled();
    controller.error(error);
  };
  const end = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    state.done = true;
    state.settled();
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!continued) {
          continued = true;
          await onContinue();
        }
        if (!chunked) {
          const bytes = await reader.some(Math.min(remaining, 65536), deadline());
          if (bytes === null) throw new Closed("ended in the body");
          remaining -= bytes.length;
          controller.enqueue(bytes);
          if (remaining === 0) end(controller);
          return;
        }
        if (finished) return;
        if (chunkLeft === 0) {
          const size = (await reader.line(deadline())).split(";")[0]!.trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw new ProtocolError(400, "Bad chunk size");
          chunkLeft = parseInt(size, 16);
          if (chunkLeft === 0) {
            while ((await reader.line(deadline())) !== "") { /* trailers: ignored */ }
            finished = true;
            end(controller);
            return;
          }
        }
        const bytes = await reader.some(chunkLeft, deadline());
        if (bytes === null) throw new Closed("ended in a chunk");
        chunkLeft -= bytes.length;
        if (chunkLeft === 0 && (await reader.line(deadline())) !== "") {
          throw new ProtocolError(400, "Chunk not followed by CRLF");
        }
        controller.enqueue(bytes);
      } catch (error) {
        fail(
          controller,
          error instanceof Closed ? new RequestBodyTimeout() : error as Error,
        );
      }
    },
  }, { highWaterMark: 0 });
}

/** How long one write may wait for a client that does not read (then the socket closes). */
const WRITE_TIMEOUT_MS = 30_000;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        closeQuietly(conn);
        reject(new Closed("write stalled"));
      }, WRITE_TIMEOUT_MS);
    });
    try {
      written += await Promise.race([conn.write(bytes.subarray(written)), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function headBytes(status: number, headers: Headers, extra: string[]): Uint8Array {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}`];
  const framing = extra.some((line) => line.startsWith("content-length:"));
  headers.forEach((value, name) => {
    if (name === "connection" || name === "transfer-encoding" || name === "keep-alive") return;
    if (framing && name === "content-length") return;
    if (name === "set-cookie") return;
    lines.push(`${name}: ${value}`);
  });
  for (const cookie of headers.getSetCookie()) lines.push(`set-cookie: ${cookie}`);
  lines.push(`date: ${new Date().toUTCString()}`, ...extra);
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n");
}

/** Writes a response; false when the client went away while it was written. */
async function writeResponse(
  conn: Deno.Conn,
  response: Response,
  method: string,
  keepAlive: boolean,
  peerGone: AbortSignal,
): Promise<boolean> {
  const connection = keepAlive ? "connection: keep-alive" : "connection: close";
  const noBody = method === "HEAD" || response.status === 204 || response.status === 304;
  const body = response.body;
  try {
    if (body === null || noBody) {
      const length = response.headers.get("content-length");
      const extra = [connection];
      if (response.status !== 204 && response.status !== 304 && length === null) {
        extra.push("content-length: 0");
      }
      await writeAll(conn, headBytes(response.status, response.headers, extra));
      await body?.cancel().catch(() => {});
      return true;
    }
    const reader = body.getReader();
    // A client that closed its socket stops a stream (SSE) at once, not at the next write.
    const cancel = () => reader.cancel(new Closed("client gone")).catch(() => {});
    peerGone.addEventListener("abort", cancel, { once: true });
    try {
      // A body that is already complete (JSON, text) goes out with a Content-Length, in one
      // write with its head; one still being produced (SSE, NDJSON) goes out chunked.
      const complete: Uint8Array[] = [];
      let next = reader.read();
      let streaming = false;
      while (true) {
        const r = await Promise.race([next, new Promise<null>((ok) => setTimeout(ok, 0, null))]);
        if (r === null) {
          streaming = true;
          break;
        }
        if (r.done) break;
        if (r.value.length > 0) complete.push(r.value);
        next = reader.read();
      }
      if (!streaming) {
        const size = complete.reduce((n, c) => n + c.length, 0);
        const head = headBytes(response.status, response.headers, [
          connection,
          `content-length: ${size}`,
        ]);
        const out = new Uint8Array(head.length + size);
        out.set(head);
        let at = head.length;
        for (const c of complete) {
          out.set(c, at);
          at += c.length;
        }
        await writeAll(conn, out);
        return !peerGone.aborted;
      }
      const chunk = (value: Uint8Array) => {
        const prefix = encoder.encode(value.length.toString(16) + "\r\n");
        const framed = new Uint8Array(prefix.length + value.length + 2);
        framed.set(prefix);
        framed.set(value, prefix.length);
        framed.set([13, 10], prefix.length + value.length);
        return framed;
      };
      const head = headBytes(response.status, response.headers, [
        connection,
        "transfer-encoding: chunked",
      ]);
      await writeAll(conn, complete.length === 0 ? head : concat([head, ...complete.map(chunk)]));
      while (true) {
        if (peerGone.aborted) return false;
        const { done, value } = await next;
        if (done) break;
        next = reader.read();
        if (value.length > 0) await writeAll(conn, chunk(value));
      }
      await writeAll(conn, encoder.encode("0\r\n\r\n"));
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      throw error;
    } finally {
      peerGone.removeEventListener("abort", cancel);
    }
    return !peerGone.aborted;
  } catch {
    return false;
  }
}

/**
 * Starts the server.
 *
 * @example A server on a free loopback port
 * ```ts
 * import { serveHttp1 } from "./http1.ts";
 * const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, () => new Response("ok"));
 * const r = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * if ((await r.text()) !== "ok") throw new Error();
 * await server.shutdown();
 * ```
 */
export function serveHttp1(options: Http1Options, handler: FetchHandler): Http1Server {
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
  const maxHead = options.maxHeadBytes ?? 32768;
  const where = { hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 8787 };
  const listener: Deno.Listener = options.tls === undefined
    ? Deno.listen({ ...where, transport: "tcp" })
    : Deno.listenTls({ ...where, transport: "tcp", cert: options.tls.cert, key: options.tls.key });
  const scheme = options.tls === undefined ? "http" : "https";
  const addr = listener.addr as Deno.NetAddr;
  const connections = new Set<Promise<void>>();
  const idle = new Set<Deno.Conn>();
  let stopping = false;
  const { promise: stopped, resolve: stopNow } = Promise.withResolvers<void>();

  const stop = () => {
    if (stopping) return;
    stopping = true;
    stopNow();
    try {
      listener.close();
    } catch { /* closed */ }
    for (const conn of idle) closeQuietly(conn);
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();

  async function connection(conn: Deno.Conn): Promise<void> {
    // Heads and bodies are separate writes: without this, Nagle and delayed ACKs add 40 ms.
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch { /* not TCP */ }
    const reader = new SocketReader(conn);
    const remoteAddr = conn.remoteAddr as Deno.NetAddr;
    let lingering = false;
    try {
      while (!stopping) {
        idle.add(conn);
        let head: Head;
        try {
          const bytes = await reader.head(Date.now() + headersTimeoutMs, maxHead);
          if (bytes === null) return;
          head = parseHead(bytes);
        } finally {
          idle.delete(conn);
        }
        const keepAlive = head.version === "1.1"
          ? head.headers.get("connection")?.toLowerCase() !== "close"
          : head.headers.get("connection")?.toLowerCase() === "keep-alive";
        const read = Promise.withResolvers<void>();
        const body: BodyState = { done: false, failed: false, settled: read.resolve };
        const expect = head.headers.get("expect")?.toLowerCase() === "100-continue";
        const stream = head.method === "GET" || head.method === "HEAD"
          ? (body.done = true, read.resolve(), null)
          : bodyStream(reader, head, bodyTimeoutMs, async () => {
            if (expect) await writeAll(conn, encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
          }, body);
        const host = head.headers.get("host") ?? `${addr.hostname}:${addr.port}`;
        let url: URL;
        try {
          url = new URL(
            head.target.startsWith("/") ? `${scheme}://${host}${head.target}` : head.target,
          );
        } catch {
          throw new ProtocolError(400, "Invalid request target");
        }
        const gone = new AbortController();
        const answered = Promise.withResolvers<void>();
        // The client closing its socket before the answer aborts the request's signal.
        // Watching starts once the handler has read the body (until then the reads are its).
        const watch = (async () => {
          const first = await Promise.race([
            read.promise.then(() => "read" as const),
            answered.promise.then(() => "answered" as const),
          ]);
          if (first === "answered" || body.failed) return;
          if (await reader.watchEnd(answered.promise)) gone.abort();
        })();
        let response: Response;
        try {
          const request = new Request(url, {
            method: head.method,
            headers: head.headers,
            signal: gone.signal,
            ...(stream === null ? {} : { body: stream, duplex: "half" } as RequestInit),
          });
          response = await handler(request, { remoteAddr });
        } catch (error) {
          options.onError?.(error);
          response = new Response(
            JSON.stringify({ error: "internal", detail: "Internal server error" }),
            {
              status: 500,
              headers: { "content-type": "application/json" },
            },
          );
        }
        if (body.failed) {
          // The handler read a body that did not arrive in time: 408 whatever it answered.
          await response.body?.cancel().catch(() => {});
          response = new Response(
            JSON.stringify({
              error: "request_timeout",
              detail: "The request body did not arrive in time",
            }),
            { status: 408, headers: { "content-type": "application/json" } },
          );
        }
        answered.resolve();
        await watch;
        if (gone.signal.aborted) {
          await response.body?.cancel().catch(() => {});
          return;
        }
        // A body the handler did not read to its end leaves the connection unusable.
        const reusable = keepAlive && body.done && !stopping;
        if (!body.done) lingering = true;
        // While the answer is written (a stream may last hours) the socket is watched again.
        const written = Promise.withResolvers<void>();
        const peerGone = new AbortController();
        const watchWrite = body.done
          ? reader.watchEnd(written.promise).then((ended) => ended && peerGone.abort())
          : Promise.resolve();
        const ok = await writeResponse(conn, response, head.method, reusable, peerGone.signal);
        written.resolve();
        await watchWrite;
        if (!ok || !reusable) return;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        lingering = true;
        const bytes = encoder.encode(
          JSON.stringify({ error: "bad_request", detail: error.message }),
        );
        await writeAll(
          conn,
          headBytes(
            error.status,
            new Headers({ "content-type": "application/json" }),
            ["connection: close", `content-length: ${bytes.length}`],
          ),
        ).then(() => writeAll(conn, bytes)).catch(() => {});
      } else if (!(error instanceof Closed)) {
        options.onError?.(error);
      }
    } finally {
      if (lingering) await lingerClose(conn, reader);
      closeQuietly(conn);
    }
  }

  const accepting = (async () => {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        break;
      }
      if (stopping) {
        closeQuietly(conn);
        break;
      }
      const task = connection(conn);
      connections.add(task);
      task.finally(() => connections.delete(task));
    }
  })();
  options.onListen?.(addr);

  const finished = (async () => {
    await stopped;
    await accepting;
    while (connections.size > 0) await Promise.allSettled([...connections]);
  })();

  return {
    addr,
    finished,
    shutdown: async () => {
      stop();
      await finished;
    },
  };
}

/** How long, and how many bytes, a lingering close drains from a client still sending. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 64 * 1024 * 1024;

async function lingerClose(conn: Deno.Conn, reader: SocketReader): Promise<void> {
  try {
    await conn.closeWrite();
  } catch {
    return;
  }
  await reader.discard(Date.now() + LINGER_MS, LINGER_BYTES).catch(() => {});
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}
