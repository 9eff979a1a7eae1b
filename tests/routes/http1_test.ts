/**
 * The HTTP/1.1 server on real loopback sockets: header and body deadlines, a client going
 * away, keep-alive and pipelining, streamed answers stopped when the reader leaves, lingering
 * close, malformed heads, graceful shutdown.
 */
import { assert, assertEquals } from "../assert.ts";
import { type FetchHandler, serveHttp1 } from "../../routes/http1.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function start(
  handler: FetchHandler,
  options: { headersTimeoutMs?: number; bodyTimeoutMs?: number } = {},
) {
  const controller = new AbortController();
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, ...options },
    handler,
  );
  return {
    port: server.addr.port,
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

/** Everything the server sends until it closes the socket (or `limitMs` passed). */
async function readAll(
  conn: Deno.Conn,
  limitMs = 5000,
): Promise<{ text: string; closed: boolean }> {
  const chunks: string[] = [];
  const deadline = Date.now() + limitMs;
  const buf = new Uint8Array(65536);
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), deadline - Date.now())),
    ]);
    clearTimeout(timer);
    if (n === "timeout") return { text: chunks.join(""), closed: false };
    if (n === null) return { text: chunks.join(""), closed: true };
    chunks.push(decoder.decode(buf.subarray(0, n)));
  }
  return { text: chunks.join(""), closed: false };
}

const ok: FetchHandler = () => new Response("ok");

Deno.test("http1: a head that does not arrive in time, or an idle connection, is closed", async () => {
  const server = start(ok, { headersTimeoutMs: 200 });
  try {
    const half = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await half.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const started = Date.now();
    const [a, b] = await Promise.all([readAll(half), readAll(idle)]);
    const waited = Date.now() - started;
    assert(a.closed && b.closed, "both connections closed by the server");
    assertEquals(a.text, "");
    assertEquals(b.text, "");
    assert(waited >= 150 && waited < 3000, `closed after ${waited} ms`);
    half.close();
    idle.close();
    // A keep-alive connection after its answer gets the same limit for its next head.
    const kept = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await kept.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const c = await readAll(kept);
    assert(c.closed, "idle keep-alive connection closed");
    assert(c.text.startsWith("HTTP/1.1 200 OK\r\n") && c.text.endsWith("\r\n\r\nok"), c.text);
    kept.close();
  } finally {
    await server.close();
  }
});

Deno.test("http1: a body that stalls gets 408 (fixed length and chunked), the handler's read fails", async () => {
  const failures: string[] = [];
  const server = start(async (request) => {
    try {
      await request.text();
      return new Response("read");
    } catch (error) {
      failures.push((error as Error).name);
      return new Response("handler saw the failure", { status: 400 });
    }
  }, { bodyTimeoutMs: 200 });
  try {
    const fixed = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await fixed.write(
      encoder.encode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"),
    );
    const chunked = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await chunked.write(
      encoder.encode(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
      ),
    );
    const [a, b] = await Promise.all([readAll(fixed), readAll(chunked)]);
    for (const r of [a, b]) {
      assert(r.closed, "closed after the 408");
      assert(r.text.startsWith("HTTP/1.1 408 Request Timeout\r\n"), r.text);
      assert(r.text.includes('"error":"request_timeout"'), r.text);
    }
    assertEquals(failures, ["RequestBodyTimeout", "RequestBodyTimeout"]);
    fixed.close();
    chunked.close();
    // A chunked stream that keeps sending is not cut by the limit: only pauses count.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await slow.write(
      encoder.encode("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
    );
    for (let i = 0; i < 5; i++) {
      await slow.write(encoder.encode("1\r\na\r\n"));
      await new Promise((r) => setTimeout(r, 100));
    }
    await slow.write(encoder.encode("0\r\n\r\n"));
    const c = await readAll(slow, 1000);
    assert(c.text.startsWith("HTTP/1.1 200 OK\r\n") && c.text.endsWith("read"), c.text);
    slow.close();
  } finally {
    await server.close();
  }
});

Deno.test("http1: request.signal aborts when the client closes before the answer", async () => {
  const aborted = Promise.withResolvers<number>();
  const entered = Promise.withResolvers<void>();
  const server = start(async (request) => {
    await request.text();
    entered.resolve();
    const t = Date.now();
    await new Promise<void>((resolve) => {
      request.signal.addEventListener("abort", () => resolve(), { once: true });
      setTimeout(resolve, 5000);
    });
    aborted.resolve(request.signal.aborted ? Date.now() - t : -1);
    return new Response("late");
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(encoder.encode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
    await entered.promise;
    conn.close();
    const ms = await aborted.promise;
    assert(ms >= 0 && ms < 1000, `signal aborted ${ms} ms after the close`);
    // The same through fetch with an AbortSignal: the server learns it, nothing else breaks.
    const again = Promise.withResolvers<boolean>();
    const server2 = start(async (request) => {
      await new Promise((r) => setTimeout(r, 300));
      again.resolve(request.signal.aborted);
      return new Response("late");
    });
    try {
      await fetch(server2.url, { signal: AbortSignal.timeout(30) }).catch(() => {});
      assertEquals(await again.promise, true);
      assertEquals(await (await fetch(server2.url)).text(), "late");
    } finally {
      await server2.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("http1: keep-alive, pipelined requests in order, HEAD, Expect: 100-continue", async () => {
  let n = 0;
  const server = start(async (request) => {
    const body = request.body === null ? "" : await request.text();
    return new Response(`${++n} ${request.method} ${new URL(request.url).pathname} ${body}`);
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(encoder.encode(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz" +
        "HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    const { text, closed } = await readAll(conn);
    assert(closed, "closed after Connection: close");
    const answers = text.split("HTTP/1.1 200 OK\r\n").slice(1);
    assertEquals(answers.length, 4, text);
    assert(answers[0]!.endsWith("\r\n\r\n1 GET /a "), answers[0]);
    assert(answers[1]!.endsWith("\r\n\r\n2 POST /b xyz"), answers[1]);
    assert(answers[2]!.endsWith("\r\n\r\n"), `HEAD has no body: ${answers[2]}`);
    assert(answers[3]!.includes("connection: close") && answers[3]!.endsWith("4 GET /d "));
    conn.close();

    const cont = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await cont.write(encoder.encode(
      "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n" +
        "Connection: close\r\n\r\n",
    ));
    const first = new Uint8Array(64);
    const m = await cont.read(first);
    assertEquals(decoder.decode(first.subarray(0, m!)), "HTTP/1.1 100 Continue\r\n\r\n");
    await cont.write(encoder.encode("ok"));
    const rest = await readAll(cont);
    assert(rest.text.endsWith("5 POST /e ok"), rest.text);
    cont.close();
  } finally {
    await server.close();
  }
});

Deno.test("http1: malformed and oversized heads get 400/431/501 and the connection closes", async () => {
  const server = start(ok);
  try {
    const cases: [string, number][] = [
      ["NOT A REQUEST\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nbad header\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nX-Big: " + "a".repeat(40000) + "\r\n\r\n", 431],
      ["POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
      ["POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
      ["POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400],
    ];
    for (const [raw, status] of cases) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(encoder.encode(raw));
      const { text, closed } = await readAll(conn);
      assert(closed, `closed after ${status}`);
      assert(
        text.startsWith(`HTTP/1.1 ${status} `),
        `${JSON.stringify(raw.slice(0, 40))}: ${text}`,
      );
      assert(text.includes('"detail":'), text);
      conn.close();
    }
    assertEquals(await (await fetch(server.url)).text(), "ok");
  } finally {
    await server.close();
  }
});

Deno.test("http1: an unread body is answered (lingering close); a stream stops when its reader leaves", async () => {
  const cancelled = Promise.withResolvers<number>();
  let opened = 0;
  const server = start((request) => {
    if (new URL(request.url).pathname === "/stream") {
      let timer: ReturnType<typeof setInterval> | undefined;
      const t = Date.now();
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            opened = Date.now();
            controller.enqueue(encoder.encode(": hello\n\n"));
            // A heartbeat only every 10 s: the close must be seen without a write.
            timer = setInterval(() => controller.enqueue(encoder.encode(": hb\n\n")), 10_000);
          },
          cancel() {
            clearInterval(timer);
            cancelled.resolve(Date.now() - t);
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    }
    return new Response(JSON.stringify({ error: "too_large", detail: "no" }), { status: 413 });
  });
  try {
    const res = await fetch(`${server.url}/upload`, {
      method: "POST",
      body: new Uint8Array(8 * 1024 * 1024),
    });
    assertEquals(res.status, 413);
    assertEquals((await res.json()).error, "too_large");

    const stream = await fetch(`${server.url}/stream`);
    const reader = stream.body!.getReader();
    assertEquals(decoder.decode((await reader.read()).value), ": hello\n\n");
    const left = Date.now();
    await reader.cancel();
    const ms = await cancelled.promise;
    assert(opened > 0 && ms < 10_000 && Date.now() - left < 2000, `cancelled after ${ms} ms`);
  } finally {
    await server.close();
  }
});

Deno.test("http1: shutdown closes idle connections and lets an answer in progress finish", async () => {
  const entered = Promise.withResolvers<void>();
  const server = start(async () => {
    entered.resolve();
    await new Promise((r) => setTimeout(r, 200));
    return new Response("finished");
  });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const pending = fetch(server.url).then((r) => r.text());
  await entered.promise;
  const closing = server.close();
  assertEquals(await pending, "finished");
  await closing;
  assert((await readAll(idle, 1000)).closed, "idle connection closed");
  idle.close();
  const refused = await Deno.connect({ hostname: "127.0.0.1", port: server.port }).then(
    (c) => (c.close(), false),
    () => true,
  );
  assert(refused, "no longer listening");
});
