/**
 * A learning-curve picture (SVG): lines over epochs, one panel per group of series (losses,
 * validation score), with axes, ticks and a legend.
 *
 * @module
 */

/** One line of the chart. */
export interface CurveSeries {
  readonly name: string;
  /** `[epoch, value]` points; non-finite values are skipped. */
  readonly points: readonly (readonly [number, number])[];
  readonly color: string;
}

/** One panel. */
export interface CurvePanel {
  readonly title: string;
  readonly series: readonly CurveSeries[];
  /** A vertical marker (e.g. the kept epoch). */
  readonly marker?: number;
  /** More vertical markers (e.g. head promotions), drawn solid. */
  readonly markers?: readonly number[];
  /** @default {"epoch"} */
  readonly xLabel?: string;
}

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/**
 * Renders panels side by side.
 *
 * @example One panel
 * ```ts
 * import { learningCurveSvg } from "./learning_curve_svg.ts";
 * const svg = learningCurveSvg([{ title: "loss", series: [{ name: "train", color: "#000", points: [[1, 2], [2, 1]] }] }]);
 * if (!svg.startsWith("<svg") || !svg.includes("polyline")) throw new Error();
 * ```
 */
export function learningCurveSvg(panels: readonly CurvePanel[], title = ""): string {
  const pw = 420, ph = 280, m = { l: 56, r: 16, t: 40, b: 70 };
  const width = panels.length * pw;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${ph}" viewBox="0 0 ${width} ${ph}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  if (title) parts.push(`<text x="8" y="14" font-size="12">${esc(title)}</text>`);
  panels.forEach((panel, p) => {
    const x0 = p * pw + m.l, x1 = (p + 1) * pw - m.r, y0 = ph - m.b, y1 = m.t;
    const pts = panel.series.flatMap((s) => s.points.filter(([, v]) => Number.isFinite(v)));
    const xs = pts.map(([x]) => x), ys = pts.map(([, y]) => y);
    const xmin = Math.min(1, ...xs), xmax = Math.max(xmin + 1, ...xs);
    let ymin = Math.min(...ys), ymax = Math.max(...ys);
    if (!Number.isFinite(ymin)) [ymin, ymax] = [0, 1];
    if (ymax - ymin < 1e-9) [ymin, ymax] = [ymin - 0.5, ymax + 0.5];
    const sx = (x: number) => x0 + (x - xmin) / (xmax - xmin) * (x1 - x0);
    const sy = (y: number) => y0 - (y - ymin) / (ymax - ymin) * (y0 - y1);
    parts.push(`<text x="${x0}" y="${m.t - 10}" font-size="12">${esc(panel.title)}</text>`);
    parts.push(
      `<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333"/>`,
    );
    for (let k = 0; k <= 4; k++) {
      const yv = ymin + (ymax - ymin) * k / 4, xv = xmin + (xmax - xmin) * k / 4;
      parts.push(
        `<text x="${x0 - 4}" y="${sy(yv) + 3}" text-anchor="end">${fmt(yv)}</text>`,
        `<text x="${sx(xv)}" y="${y0 + 14}" text-anchor="middle">${Math.round(xv)}</text>`,
      );
    }
    parts.push(
      `<text x="${(x0 + x1) / 2}" y="${y0 + 28}" text-anchor="middle">${
        esc(panel.xLabel ?? "epoch")
      }</text>`,
    );
    for (const m of panel.markers ?? []) {
      const x = sx(m);
      parts.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#c0392b"/>`);
    }
    if (panel.marker !== undefined) {
      const x = sx(panel.marker);
      parts.push(
        `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#999" stroke-dasharray="3,3"/>`,
      );
    }
    panel.series.forEach((s, i) => {
      const line = s.points.filter(([, v]) => Number.isFinite(v))
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      if (line) {
        parts.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${line}"/>`,
        );
      }
      const ly = y0 + 42 + 12 * Math.floor(i / 2), lx = x0 + (i % 2) * 180;
      parts.push(
        `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 16}" y2="${
          ly - 4
        }" stroke="${s.color}" stroke-width="2"/>`,
        `<text x="${lx + 20}" y="${ly}">${esc(s.name)}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
