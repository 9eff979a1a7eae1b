import { assert, assertEquals } from "../assert.ts";
import { formatPrediction, pickStay, replay } from "../../src/cli/demo.ts";
import { writeSyntheticDataset } from "../../src/data/synth/write_dataset.ts";
import { FakeStayService } from "./fake_service.ts";
import { listen } from "./helpers.ts";

Deno.test("demo replays a synthetic stay and prints the streamed predictions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flexcare-demo-test-" });
  const service = new FakeStayService();
  const server = listen({ service, ready: () => true });
  try {
    await writeSyntheticDataset({ outDir: dir, stays: 6, seed: 3 });
    const stay = await pickStay(dir);
    assert(stay.observations.length > 0);
    const lines: string[] = [];
    const count = await replay({
      url: server.url,
      stay,
      speed: 360_000,
      hours: 6,
      print: (l) => lines.push(l),
    });
    assert(count > 0);
    assertEquals(lines.filter((l) => l.startsWith("hour")).length, count);
    const [id] = [...service.stays.keys()];
    assert(id!.startsWith(`demo-${stay.stayId}-`));
    assertEquals(service.stays.get(id!)!.state.status, "discharged");
    assertEquals(service.stays.get(id!)!.state.notes, stay.note === null ? 0 : 1);
    assert(lines.at(-1)!.startsWith("Done:"));
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a prediction line", () => {
  const line = formatPrediction({
    stayId: "s",
    seq: 3,
    task: "los",
    hours: 5,
    distribution: [],
    expectedRemainingDays: 2.345,
    modalities: { timeseries: true, image: false, note: true },
    fusionWeights: { tn: 0.6, t: 0.4 },
    model: { name: "m", version: "1" },
    backend: "wasm",
    createdAt: "",
  });
  assert(
    line.includes("LOS") && line.includes("2.3 d") && line.includes("[T-N]") &&
      line.includes("tn=0.60"),
    line,
  );
});
