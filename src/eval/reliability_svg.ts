/**
 * A reliability diagram as a standalone SVG string (no dependencies): observed positive rate
 * against mean predicted probability per bin, the diagonal of perfect calibration, and a
 * histogram of the predictions along the bottom.
 *
 * @module
 */
import type { ReliabilityBin } from "./calibration.ts";

/** Options for {@linkcode reliabilitySvg}. */
export interface ReliabilitySvgOptions {
  /**
   * Title drawn above the plot.
   * @default {"Reliability diagram"}
   */
  title?: string;
  /**
   * A line under the title (e.g. the ECE and sample count).
   * @default {""}
   */
  subtitle?: string;
  /**
   * Width and height of the image in pixels.
   * @default {420}
   */
  size?: number;
}

/**
 * Escapes text for SVG/XML content and attributes.
 *
 * @example Markup characters
 * ```ts
 * import { escapeXml } from "./reliability_svg.ts";
 * if (escapeXml('a<b & "c"') !== "a&lt;b &amp; &quot;c&quot;") throw new Error();
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** Margins (pixels) around the plot area: room for the title and axis labels. */
const MARGIN = { left: 52, right: 16, top: 48, bottom: 48 };
/** Fraction of the plot height used by the prediction histogram. */
const HISTOGRAM_HEIGHT = 0.18;

function fmt(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/**
 * Draws reliability bins as SVG.
 *
 * @example Four predictions
 * ```ts
 * import { reliabilityBins } from "./calibration.ts";
 * import { reliabilitySvg } from "./reliability_svg.ts";
 * const svg = reliabilitySvg(reliabilityBins([0, 1, 1, 0], [0.1, 0.8, 0.7, 0.4]), { title: "IHM" });
 * if (!svg.startsWith("<svg") || !svg.includes("IHM") || !svg.includes("<polyline")) {
 *   throw new Error();
 * }
 * ```
 */
export function reliabilitySvg(
  bins: readonly ReliabilityBin[],
  options: ReliabilitySvgOptions = {},
): string {
  const size = options.size ?? 420;
  if (!(size >= 200)) throw new RangeError(`Image size must be at least 200 pixels, got ${size}`);
  const w = size - MARGIN.left - MARGIN.right;
  const h = size - MARGIN.top - MARGIN.bottom;
  const x = (p: number) => MARGIN.left + p * w;
  const y = (p: number) => MARGIN.top + (1 - p) * h;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="11">`,
    `<rect width="${size}" height="${size}" fill="white"/>`,
    `<text x="${size / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${
      escapeXml(options.title ?? "Reliability diagram")
    }</text>`,
  );
  if (options.subtitle) {
    parts.push(
      `<text x="${size / 2}" y="34" text-anchor="middle" fill="#555">${
        escapeXml(options.subtitle)
      }</text>`,
    );
  }
  // Grid and axes.
  for (let t = 0; t <= 10; t += 2) {
    const v = t / 10;
    parts.push(
      `<line x1="${fmt(x(v))}" y1="${fmt(y(0))}" x2="${fmt(x(v))}" y2="${
        fmt(y(1))
      }" stroke="#eee"/>`,
      `<line x1="${fmt(x(0))}" y1="${fmt(y(v))}" x2="${fmt(x(1))}" y2="${
        fmt(y(v))
      }" stroke="#eee"/>`,
      `<text x="${fmt(x(v))}" y="${fmt(y(0) + 14)}" text-anchor="middle">${v}</text>`,
      `<text x="${fmt(x(0) - 6)}" y="${fmt(y(v) + 4)}" text-anchor="end">${v}</text>`,
    );
  }
  parts.push(
    `<rect x="${x(0)}" y="${y(1)}" width="${w}" height="${h}" fill="none" stroke="#333"/>`,
    `<text x="${fmt(x(0.5))}" y="${
      size - 10
    }" text-anchor="middle">Mean predicted probability</text>`,
    `<text transform="translate(14 ${
      fmt(y(0.5))
    }) rotate(-90)" text-anchor="middle">Observed positive rate</text>`,
  );
  // Histogram of predictions.
  const maxCount = Math.max(0, ...bins.map((b) => b.count));
  for (const bin of bins) {
    if (bin.count === 0 || maxCount === 0) continue;
    const barHeight = bin.count / maxCount * HISTOGRAM_HEIGHT * h;
    parts.push(
      `<rect x="${fmt(x(bin.lower) + 1)}" y="${fmt(y(0) - barHeight)}" width="${
        fmt((bin.upper - bin.lower) * w - 2)
      }" height="${fmt(barHeight)}" fill="#c6dbef"><title>${bin.count} predictions</title></rect>`,
    );
  }
  // Perfect calibration and the curve.
  parts.push(
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${
      y(1)
    }" stroke="#999" stroke-dasharray="4 3"/>`,
  );
  const points = bins.filter((b) => b.count > 0 && b.meanPredicted !== null);
  parts.push(
    `<polyline fill="none" stroke="#08519c" stroke-width="2" points="${
      points.map((b) => `${fmt(x(b.meanPredicted!))},${fmt(y(b.observedRate!))}`).join(" ")
    }"/>`,
  );
  for (const b of points) {
    parts.push(
      `<circle cx="${fmt(x(b.meanPredicted!))}" cy="${
        fmt(y(b.observedRate!))
      }" r="3.5" fill="#08519c"><title>predicted ${b.meanPredicted!.toFixed(3)}, observed ${
        b.observedRate!.toFixed(3)
      }, n = ${b.count}</title></circle>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
