/**
 * Shared pieces of the benchmark scripts: quantiles of sorted samples and appending a section
 * to `bench/RESULTS.md` (machine, command and figures of one run).
 *
 * @module
 */

/** The q-quantile of ascending samples (nearest rank); NaN when there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Appends lines to `bench/RESULTS.md`, creating it with its header when missing. */
export async function appendResults(lines: readonly string[]): Promise<void> {
  const path = new URL("./RESULTS.md", import.meta.url);
  let existing = "";
  try {
    existing = await Deno.readTextFile(path);
  } catch {
    existing =
      "# Benchmark results\n\nEach section: the machine, the command, the figures, measured in one run.\n";
  }
  await Deno.writeTextFile(path, existing + lines.join("\n") + "\n");
}

/** A free loopback port (closed again: the server about to start binds it). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits until `GET url/readyz` answers 200 (a server child warming up), at most `ms`. */
export async function waitReady(url: string, ms = 180_000): Promise<void> {
  const readyBy = Date.now() + ms;
  while (true) {
    try {
      const r = await fetch(`${url}/readyz`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not listening yet */ }
    if (Date.now() > readyBy) throw new Error(`server not ready after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
