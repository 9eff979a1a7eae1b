/**
 * `serve --cert --key`: HTTPS without a proxy, with a throwaway CA and a server certificate
 * made here by the system's openssl (skipped, with the reason, where there is none).
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { tinyModel } from "../model/tiny_model.ts";
import { parseServeArgs } from "../../src/cli/serve.ts";
import { serveOnLoopback } from "./helpers.ts";
import { UsageError } from "../../src/cli/usage_error.ts";

const OPENSSL_MISSING = (() => {
  try {
    const { code } = new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .outputSync();
    return code === 0 ? undefined : "openssl does not run";
  } catch {
    return "openssl is not installed";
  }
})();
if (OPENSSL_MISSING !== undefined) console.warn(`ignored: TLS test (${OPENSSL_MISSING})`);

Deno.test({
  name:
    "serve over TLS: a certificate from a throwaway CA made here, a prediction over HTTPS, plain HTTP refused",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flexcare-tls-" });
    try {
      // A throwaway CA and a server certificate it signs (rustls refuses a CA as the server's).
      const openssl = async (...args: string[]) => {
        const { code, stderr } = await new Deno.Command("openssl", {
          args,
          cwd: dir,
          stdout: "null",
          stderr: "piped",
        }).output();
        assertEquals(code, 0, `openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
      };
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
      await openssl(
        "req",
        "-x509",
        ...ec,
        "-days",
        "1",
        "-subj",
        "/CN=flexcare test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
      );
      await openssl(
        "req",
        ...ec,
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "srv.csr",
      );
      await Deno.writeTextFile(
        `${dir}/ext.cnf`,
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
      );
      await openssl(
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
      );
      const ca = await Deno.readTextFile(`${dir}/ca.pem`);
      const cert = await Deno.readTextFile(`${dir}/cert.pem`);
      const options = parseServeArgs([
        "--cert",
        `${dir}/cert.pem`,
        "--key",
        `${dir}/key.pem`,
        "--port",
        "0",
      ]);
      assert(options.tls !== undefined && options.tls.cert === cert);
      const server = await serveOnLoopback({
        ...options,
        model: await tinyModel(),
        data: `${dir}/data`,
      });
      const port = server.port;
      const client = Deno.createHttpClient({ caCerts: [ca] });
      try {
        await server.ready;
        const url = `https://localhost:${port}`;
        const health = await fetch(`${url}/healthz`, { client });
        assertEquals(health.status, 200);
        await health.body?.cancel();
        const r = await fetch(`${url}/v1/predict`, {
          client,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            tasks: ["dec"],
            observations: [{ time: 0.5, channel: "Heart Rate", value: 120 }],
          }),
        });
        const body = await r.json();
        assertEquals(r.status, 200, JSON.stringify(body));
        assert(body.predictions[0].probability > 0 && body.predictions[0].probability < 1);
        // A client that does not trust the certificate, or speaks plain HTTP, gets nothing.
        await assertRejects(() => fetch(`${url}/healthz`));
        await assertRejects(() => fetch(`http://localhost:${port}/healthz`));
      } finally {
        client.close();
        await server.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serve --cert needs --key, and both must be PEM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/x.pem`, "not a certificate");
    for (
      const [args, words] of [
        [["--cert", `${dir}/x.pem`], "go together"],
        [["--cert", `${dir}/x.pem`, "--key", `${dir}/x.pem`], "no PEM certificate"],
        [["--cert", `${dir}/missing.pem`, "--key", `${dir}/x.pem`], "missing.pem"],
      ] as const
    ) {
      let error: unknown;
      try {
        parseServeArgs([...args]);
      } catch (e) {
        error = e;
      }
      assert(error instanceof UsageError && error.message.includes(words), String(error));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
