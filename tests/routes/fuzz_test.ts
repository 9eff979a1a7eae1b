/**
 * 1,000 generated malformed requests against a real server on loopback: every answer is a 4xx
 * with a JSON error body, the server stays up, and the stored state (stay states, prediction
 * histories, the event log's row counts) is unchanged. Runs against the real stay service with
 * the committed tiny model (no Python needed).
 */
import { encode as encodePng } from "fast-png";
import { assert, assertEquals } from "../assert.ts";
import { listen } from "./helpers.ts";
import { tinyModel } from "../model/tiny_model.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import { createStayService, type ManagedStayService } from "../../src/session/service.ts";
import type { StayService } from "../../src/session/types.ts";
import { seededRandom } from "../../src/data/random.ts";

const TOKEN = "fuzz-token-0123456789abcdef";
const STAYS = ["fz-1", "fz-2"];

interface Req {
  kind: string;
  method: string;
  path: string;
  body?: BodyInit;
  headers?: Record<string, string>;
}

function generators(random: () => number): (() => Req)[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const stay = () => pick(STAYS);
  const json = "application/json";
  const obsPath = () => `/v1/stays/${stay()}/observations`;
  const badJson = [
    "{",
    "[1,2",
    '{"observations": [}',
    "NaN",
    '{"observations":[{"time":NaN,"channel":"Heart Rate","value":1}]}',
    '{"observations":[{"time":1,"channel":"Heart Rate","value":Infinity}]}',
    "\u0000\u0001\u0002",
    "{'single': 'quotes'}",
    '{"a":1}}',
    "",
  ];
  const badObservation = [
    { time: "yesterday", channel: "Heart Rate", value: 80 },
    { time: "2024-05-01 10:00", channel: "Heart Rate", value: 80 },
    { time: -3, channel: "Heart Rate", value: 80 },
    { time: 1e12, channel: "Heart Rate", value: 80 },
    { time: 1, channel: "Heart rate", value: 80 },
    { time: 1, channel: "Lactate", value: 2 },
    { time: 1, channel: 17, value: 80 },
    { time: 1, channel: "Heart Rate", value: { v: 80 } },
    { time: 1, channel: "Heart Rate", value: [80] },
    { time: 1, channel: "Heart Rate", value: null },
    { time: 1, channel: "Heart Rate", value: "NaN" },
    { time: 1, channel: "Heart Rate", value: "Infinity" },
    { time: 1, channel: "Heart Rate", value: "eighty" },
    { time: 1, channel: "Heart Rate", value: true },
    { time: 1, channel: "Glascow coma scale total", value: 2 },
    { time: 1, channel: "Glascow coma scale eye opening", value: "Winks" },
    { time: 1, channel: "Capillary refill rate", value: 0.5 },
    { time: 1, channel: "Heart Rate", value: 80, eventId: "" },
    { time: 1, channel: "Heart Rate", value: 80, extra: "field" },
    { channel: "Heart Rate", value: 80 },
    { time: 1, value: 80 },
    "not an object",
    42,
  ];
  const good = { time: 1, channel: "Heart Rate", value: 80 };
  const fhirObs = (patch: Record<string, unknown>) => ({
    resourceType: "Observation",
    status: "final",
    code: { coding: [{ system: "http://loinc.org", code: "8867-4" }] },
    effectiveDateTime: "2024-05-01T09:00:00Z",
    valueQuantity: { value: 80, code: "/min" },
    ...patch,
  });
  const badFhir = [
    fhirObs({ code: { coding: [{ system: "http://loinc.org", code: "0000-0" }] } }),
    fhirObs({ valueQuantity: { value: 80, code: "Hz" } }),
    fhirObs({ valueQuantity: { value: "80", code: "/min" } }),
    fhirObs({ effectiveDateTime: "2024-05-01" }),
    fhirObs({ effectiveDateTime: undefined }),
    fhirObs({ code: "8867-4" }),
    fhirObs({ resourceType: "Patient" }),
    fhirObs({ valueQuantity: undefined, valueString: "fast" }),
    {
      resourceType: "Bundle",
      entry: [{ resource: fhirObs({}) }, {
        resource: fhirObs({ valueQuantity: { value: 1, code: "kg" } }),
      }],
    },
    { resourceType: "Bundle", entry: "nope" },
    { resourceType: "Bundle", entry: [null] },
    { resourceType: "Bundle" },
    { resourceType: 7 },
  ];
  const badIds = [
    "..",
    "..%2F..%2Fetc%2Fpasswd",
    "%2E%2E",
    "a%00b",
    "-leading-dash",
    "x".repeat(300),
    "%F0%9F%92%A9",
    "a%20b",
    "a%2Fb",
    ".hidden",
    "a..b",
    "unknown-stay",
    "never-admitted",
  ];
  const png = encodePng({
    width: 64,
    height: 64,
    channels: 1,
    depth: 8,
    data: new Uint8Array(4096),
  });
  const randomBytes = (n: number) =>
    Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  return [
    () => ({
      kind: "bad json",
      method: "POST",
      path: obsPath(),
      body: pick(badJson),
      headers: { "content-type": json },
    }),
    () => ({
      kind: "bad observation",
      method: "POST",
      path: obsPath(),
      body: JSON.stringify({ observations: [good, pick(badObservation)] }),
      headers: { "content-type": json },
    }),
    () => ({
      kind: "bad batch",
      method: "POST",
      path: obsPath(),
      body: JSON.stringify(
        pick([
          {},
          { observations: [] },
          { observations: {} },
          [good],
          { observations: [good], more: 1 },
          null,
          { observations: Array(10_001).fill(good) },
        ]),
      ),
      headers: { "content-type": json },
    }),
    () => ({
      kind: "huge json",
      method: "POST",
      path: pick([
        obsPath(),
        "/v1/stays",
        `/v1/stays/${stay()}/notes`,
        `/v1/stays/${stay()}/discharge`,
      ]),
      body: JSON.stringify({
        observations: Array(30_000).fill({ ...good, eventId: "e".repeat(20) }),
      }),
      headers: { "content-type": json },
    }),
    () => ({
      kind: "content type",
      method: "POST",
      path: pick([
        obsPath(),
        "/v1/stays",
        `/v1/stays/${stay()}/notes`,
        `/v1/stays/${stay()}/images`,
        "/v1/predict",
      ]),
      body: JSON.stringify({ observations: [good], stayId: "new-one", text: "x" }),
      headers: {
        "content-type": pick([
          "text/csv",
          "application/xml",
          "multipart/form-data",
          "image/gif",
          "application/octet-stream",
          "",
        ]),
      },
    }),
    () => {
      const id = pick(badIds);
      const route = pick([
        "",
        "/observations",
        "/images",
        "/notes",
        "/predictions",
        "/stream",
        "/discharge",
      ]);
      const method = route === "" || route === "/predictions" || route === "/stream"
        ? "GET"
        : "POST";
      return {
        kind: "bad stay id",
        method,
        path: `/v1/stays/${id}${route}`,
        body: method === "POST"
          ? JSON.stringify({ observations: [good], text: "note" })
          : undefined,
        headers: { "content-type": json },
      } as Req;
    },
    () => ({
      kind: "bad admit",
      method: "POST",
      path: "/v1/stays",
      body: JSON.stringify(
        pick([
          {},
          { stayId: "" },
          { stayId: "../x" },
          { stayId: 5 },
          { stayId: "ok-id", admittedAt: "tomorrow" },
          { stayId: "ok-id", admittedAt: "2024-13-45T99:00:00Z" },
          { stayId: "ok-id", extra: true },
          { stayId: STAYS[0] },
        ]),
      ),
      headers: { "content-type": json },
    }),
    () => ({
      kind: "bad fhir",
      method: "POST",
      path: obsPath(),
      body: JSON.stringify(pick(badFhir)),
      headers: { "content-type": pick(["application/fhir+json", json]) },
    }),
    () => ({
      kind: "bad image",
      method: "POST",
      path: `/v1/stays/${stay()}/images${
        pick(["", "?time=abc", "?time=-5", "?time=NaN", "?time=2024-01-01"])
      }`,
      body: pick([randomBytes(64), png.slice(0, 40), new Uint8Array(0), png]) as BodyInit,
      headers: { "content-type": pick(["image/jpeg", "application/dicom", "image/png"]) },
    }),
    () => ({
      kind: "huge image",
      method: "POST",
      path: `/v1/stays/${stay()}/images`,
      body: new Uint8Array(20_000_001),
      headers: { "content-type": "image/png" },
    }),
    () => {
      const plain = random() < 0.4;
      return {
        kind: "bad note",
        method: "POST",
        path: `/v1/stays/${stay()}/notes${plain ? pick(["", "?time=later"]) : ""}`,
        body: plain ? pick(["", "   ", "\n\t"]) : pick([
          "",
          JSON.stringify({ text: "" }),
          JSON.stringify({ text: 5 }),
          JSON.stringify({ note: "x" }),
          JSON.stringify({ text: "x", time: "soon" }),
          JSON.stringify({ text: "x", time: -4 }),
        ]),
        headers: { "content-type": plain ? "text/plain" : json },
      };
    },
    () => ({
      kind: "bad discharge",
      method: "POST",
      path: `/v1/stays/${stay()}/discharge`,
      body: pick([
        JSON.stringify({ at: "later" }),
        JSON.stringify({ at: 5 }),
        "{",
        JSON.stringify({ when: "now" }),
      ]),
      headers: { "content-type": json },
    }),
    () => ({
      kind: "bad query",
      method: "GET",
      path: `/v1/stays/${stay()}/${pick(["predictions", "stream"])}?since=${
        pick(["-1", "abc", "1.5", "1e400", "%00"])
      }`,
    }),
    () => ({
      kind: "bad last-event-id",
      method: "GET",
      path: `/v1/stays/${stay()}/stream`,
      headers: { "last-event-id": pick(["x", "-3", "1.5"]) },
    }),
    () => ({
      kind: "bad predict",
      method: "POST",
      path: "/v1/predict",
      body: JSON.stringify(
        pick([
          {},
          { tasks: ["nope"], note: "x" },
          { tasks: [] },
          { observations: [pick(badObservation)] },
          { image: { data: "!!", mediaType: "image/png" } },
          { image: { data: btoa("xyz"), mediaType: "image/png" } },
          { note: "" },
          { hours: -1, note: "x" },
          { hours: Infinity },
        ]),
      ),
      headers: { "content-type": json },
    }),
    () => ({
      kind: "bad idempotency key",
      method: "POST",
      path: obsPath(),
      body: JSON.stringify({ observations: [good] }),
      headers: {
        "content-type": json,
        "idempotency-key": pick(["has space", "x".repeat(300), "\u00e9t\u00e9"]),
      },
    }),
    () => ({
      kind: "no or bad token",
      method: "POST",
      path: obsPath(),
      body: JSON.stringify({ observations: [good] }),
      headers: {
        "content-type": json,
        authorization: pick([
          "",
          "Bearer",
          "Bearer wrong-token-0123456789",
          "Basic Zm9vOmJhcg==",
          `bearer${TOKEN}`,
        ]),
      },
    }),
    () => ({
      kind: "method or path",
      method: pick(["PUT", "DELETE", "PATCH", "GET"]),
      path: pick([
        "/v1/stays/fz-1/observations",
        "/v1/stays",
        "/v1",
        "/v1/../etc/passwd",
        "/v1/stays/fz-1/../../x",
        "/v2/stays",
        "/v1/predict",
      ]),
    }),
    () => ({
      kind: "ndjson to unknown stay",
      method: "POST",
      path: `/v1/stays/${pick(badIds)}/observations`,
      body: `${JSON.stringify(good)}\n`,
      headers: { "content-type": "application/x-ndjson" },
    }),
  ];
}

async function snapshot(url: string, service: StayService): Promise<string> {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const parts: unknown[] = [];
  for (const id of STAYS) {
    parts.push(await (await fetch(`${url}/v1/stays/${id}`, { headers: auth })).json());
    const history = await (await fetch(`${url}/v1/stays/${id}/predictions`, { headers: auth }))
      .json();
    parts.push(
      history.predictions.map((p: { seq: number; createdAt: string }) => [p.seq, p.createdAt]),
    );
  }
  parts.push(service.stats());
  const managed = service as Partial<ManagedStayService>;
  if (managed.counts) parts.push(managed.counts());
  return JSON.stringify(parts);
}

Deno.test({
  name: "fuzz: 1,000 malformed requests get 4xx, the server stays up, stored state is unchanged",
  async fn() {
    const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm", offThread: true });
    const data = await Deno.makeTempDir({ prefix: "flexcare-fuzz-" });
    const service: StayService = await createStayService({
      dataDir: data,
      model,
      sweepIntervalMs: 0,
    });
    const server = listen({ service, model, tokens: [TOKEN] });
    try {
      for (const id of STAYS) {
        await service.admit(id, { admittedAt: "2024-05-01T08:00:00Z" });
        await service.addObservations(
          id,
          [0.5, 1.5, 2.5].map((t) => ({ time: t, channel: "Heart Rate", value: 80 + t })),
        );
      }
      const before = await snapshot(server.url, service);
      const random = seededRandom(20240501);
      const gens = generators(random);
      const statuses = new Map<number, number>();
      const kinds = new Map<string, Set<number>>();
      let count = 0;
      for (let i = 0; i < 1000; i++) {
        const r = gens[i % gens.length]!();
        if (r.kind === "huge image" && i > 200) continue; // a few 20 MB bodies are enough
        const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...r.headers };
        let body = r.body;
        if (headers["content-type"] === "") {
          // No Content-Type at all: bytes, since fetch labels a string body text/plain.
          delete headers["content-type"];
          if (typeof body === "string") body = new TextEncoder().encode(body);
        }
        const res = await fetch(`${server.url}${r.path}`, {
          method: r.method,
          headers,
          ...(body === undefined ? {} : { body }),
        });
        const text = await res.text();
        count++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        kinds.set(r.kind, (kinds.get(r.kind) ?? new Set()).add(res.status));
        assert(
          res.status >= 400 && res.status < 500,
          `${r.kind} ${r.method} ${r.path}: ${res.status} ${text.slice(0, 300)}`,
        );
        const answer = JSON.parse(text);
        assert(typeof answer.error === "string" && typeof answer.detail === "string", text);
      }
      // Extra generated requests stand in for the skipped huge images, so 1,000 were sent.
      for (let i = count; i < 1000; i++) {
        const res = await fetch(`${server.url}/v1/stays/fz-1/observations`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({
            observations: [{ time: i, channel: "Heart Rate", value: `bad-${i}` }],
          }),
        });
        await res.body?.cancel();
        assertEquals(res.status, 422);
        statuses.set(422, (statuses.get(422) ?? 0) + 1);
        count++;
      }
      assertEquals(count, 1000);
      const health = await fetch(`${server.url}/healthz`);
      assertEquals(health.status, 200);
      await health.body?.cancel();
      assertEquals(await snapshot(server.url, service), before);
      console.log(
        `fuzz: ${count} requests, statuses ${
          JSON.stringify(Object.fromEntries([...statuses].sort()))
        }`,
      );
      for (const [kind, s] of kinds) console.log(`  ${kind}: ${[...s].sort().join(", ")}`);
    } finally {
      await server.close();
      await service.close();
      await model.close();
      await Deno.remove(data, { recursive: true });
    }
  },
});
