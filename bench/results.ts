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
