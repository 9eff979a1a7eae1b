/**
 * `deno task serve` and `deno task demo` as processes: the server starts from flags, the demo
 * replays a synthetic stay against it and prints streamed predictions, SIGINT stops the server.
 */
import { assert, assertEquals } from "../assert.ts";
import { tinyModel } from "../model/tiny_model.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

Deno.test({
  name: "serve and demo as processes",
  async fn() {
    const model = await tinyModel();
    const data = await Deno.makeTempDir({ prefix: "flexcare-cli-" });
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "serve",
        "--model",
        model,
        "--port",
        String(port),
        "--data",
        data,
        "--backend",
        "wasm",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const demo = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          "demo",
          "--url",
          `http://127.0.0.1:${port}`,
          "--speed",
          "360000",
          "--hours",
          "6",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(demo.stdout);
      assertEquals(demo.code, 0, new TextDecoder().decode(demo.stderr));
      assert(/^hour +\d+ +#1 +DEC +p=0\.\d+/m.test(out), out);
      assert(/LOS +expected remaining \d+\.\d d/.test(out), out);
      assert(/Done: \d+ predictions streamed/.test(out), out);
    } finally {
      server.kill("SIGINT");
      const status = await server.status;
      const log = new TextDecoder().decode(await new Response(server.stderr).arrayBuffer());
      assertEquals(status.code, 0, log);
      assert(log.includes("ready: model"), log);
      // Request logs name routes, never the demo's stay id.
      assert(
        log.includes("POST /v1/stays/:stayId/observations 200") && !log.includes("demo-"),
        log,
      );
      await Deno.remove(data, { recursive: true });
    }
  },
});
