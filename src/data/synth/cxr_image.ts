/**
 * Renders a synthetic AP chest X-ray: a body silhouette with dark lung fields, bright spine,
 * mediastinum, heart shadow, clavicles and ribs, plus simple opacities for the findings
 * (blobs for consolidation, opacity and pneumonia, perihilar haze for edema, a fluid level for
 * effusion, a dark apical crescent for pneumothorax, a wide heart for cardiomegaly, bright
 * lines for support devices, ...). Uncertain findings (-1) are drawn faintly.
 *
 * @module
 */
import { DIAGNOSIS_LABELS } from "../tasks.ts";
import { FINDING, type FindingValue } from "./cxr_findings.ts";
import type { Prng } from "./prng.ts";

/** Options for {@linkcode renderChestXray}. */
export interface ChestXrayOptions {
  /**
   * Side of the square image in pixels.
   * @default {256}
   */
  size?: number;
}

/** Adds `amount * weight(x, y)` over a box of the image (coordinates as fractions of the side). */
function paint(
  img: Float32Array,
  n: number,
  box: [number, number, number, number],
  weight: (x: number, y: number) => number,
): void {
  const x0 = Math.max(0, Math.floor(box[0] * n)), x1 = Math.min(n - 1, Math.ceil(box[2] * n));
  const y0 = Math.max(0, Math.floor(box[1] * n)), y1 = Math.min(n - 1, Math.ceil(box[3] * n));
  for (let py = y0; py <= y1; py++) {
    const y = py / n;
    for (let px = x0; px <= x1; px++) {
      const w = weight(px / n, y);
      if (w !== 0) img[py * n + px]! += w;
    }
  }
}

const smooth = (e: number, edge: number): number => e <= 1 - edge ? 1 : e >= 1 ? 0 : (1 - e) / edge;

/**
 * Renders 8-bit grayscale pixels (row-major, `size * size`) for the 14 finding values.
 *
 * @example A 256-pixel image with dark lungs and a bright spine
 * ```ts
 * import { renderChestXray } from "./cxr_image.ts";
 * import { createPrng } from "./prng.ts";
 * const px = renderChestXray(new Array(14).fill(0), createPrng(1));
 * const at = (x: number, y: number) => px[Math.round(y * 256) * 256 + Math.round(x * 256)]!;
 * if (px.length !== 256 * 256 || !(at(0.3, 0.4) < at(0.5, 0.4))) throw new Error();
 * ```
 */
export function renderChestXray(
  findings: readonly FindingValue[],
  prng: Prng,
  options: ChestXrayOptions = {},
): Uint8Array {
  if (findings.length !== DIAGNOSIS_LABELS.length) {
    throw new RangeError(`Expected ${DIAGNOSIS_LABELS.length} findings, got ${findings.length}`);
  }
  const n = options.size ?? 256;
  const strength = (i: number) => findings[i] === 1 ? 1 : findings[i] === -1 ? 0.45 : 0;
  const img = new Float32Array(n * n);
  const cx = 0.5 + prng.normal(0, 0.012), tilt = prng.normal(0, 0.01);
  const lungRx = prng.uniform(0.16, 0.18), lungRy = prng.uniform(0.3, 0.34);
  const lungCy = prng.uniform(0.44, 0.48);
  const lungs = [cx - 0.2, cx + 0.2];
  const cardio = strength(FINDING.cardiomegaly);
  const heartRx = 0.12 + 0.07 * cardio + prng.normal(0, 0.008);
  const heartCx = cx + 0.04, heartCy = 0.66;
  const mediastinum = 0.055 + 0.035 * strength(FINDING.enlargedCardiomediastinum);
  const ribPhase = prng.uniform(0, 1), ribGap = prng.uniform(0.06, 0.07);

  // Body, lungs, spine, mediastinum, heart and ribs, evaluated per pixel (kept branch-light:
  // this loop dominates the generator's run time).
  const leftX = lungs[0]!, rightX = lungs[1]!;
  const leftY = lungCy - tilt, rightY = lungCy + tilt;
  const invLungRx = 1 / lungRx, invLungRy = 1 / lungRy, invRibGap = 1 / ribGap;
  const invHeartRx = 1 / heartRx, invHeartRy = 1 / 0.13;
  for (let py = 0; py < n; py++) {
    const y = py / n;
    const byy = (y - 0.62) / 0.62, byy2 = byy * byy;
    const lyL = (y - leftY) * invLungRy, lyR = (y - rightY) * invLungRy;
    const hy = (y - heartCy) * invHeartRy, hy2 = hy * hy;
    const row = py * n;
    for (let px = 0; px < n; px++) {
      const x = px / n;
      const bx = (x - cx) / 0.47;
      const shoulder = y < 0.2 ? Math.abs(x - cx) / (0.3 + 0.9 * y) : Math.abs(bx);
      let v = 12 + 88 * smooth(Math.max(shoulder, Math.sqrt(bx * bx + byy2)), 0.08);
      for (let side = 0; side < 2; side++) {
        const lx = (x - (side ? rightX : leftX)) * invLungRx, ly = side ? lyR : lyL;
        const e2 = lx * lx + ly * ly;
        if (e2 < 1) {
          const inLung = smooth(Math.sqrt(e2), 0.25);
          v -= 62 * inLung;
          // Ribs: curved bands across each lung (a triangle wave, cheaper than a cosine).
          const phase = (y + 0.04 * lx * lx) * invRibGap + ribPhase;
          const band = 1 - 4 * Math.abs(phase - Math.floor(phase) - 0.5);
          if (band > 0.4) v += 22 * inLung * (band - 0.4) / 0.6;
        }
      }
      const spine = Math.abs(x - cx);
      if (spine < mediastinum && y > 0.06) v += 55 * smooth(spine / mediastinum, 0.6);
      const hx = (x - heartCx) * invHeartRx, he2 = hx * hx + hy2;
      if (he2 < 1) {
        const w = smooth(Math.sqrt(he2), 0.15);
        v = Math.max(v, 150 * w + v * (1 - w));
      }
      img[row + px] = v;
    }
  }
  // Clavicles.
  for (const side of [-1, 1]) {
    paint(img, n, [cx - 0.35, 0.1, cx + 0.35, 0.22], (x, y) => {
      const dx = (x - cx) * side;
      if (dx < 0.04 || dx > 0.32) return 0;
      const yc = 0.17 - 0.06 * (dx - 0.04) + 0.12 * (dx - 0.2) ** 2;
      return Math.abs(y - yc) < 0.012 ? 45 : 0;
    });
  }
  const lungPoint = (side: number, low: boolean) => ({
    x: lungs[side]! + prng.normal(0, lungRx * 0.3),
    y: lungCy + (low ? prng.uniform(0.05, 0.2) : prng.uniform(-0.15, 0.15)),
  });
  const blob = (at: { x: number; y: number }, sigma: number, amount: number) => {
    const r = 3 * sigma;
    paint(img, n, [at.x - r, at.y - r, at.x + r, at.y + r], (x, y) => {
      const d2 = ((x - at.x) ** 2 + (y - at.y) ** 2) / (sigma * sigma);
      return d2 > 9 ? 0 : amount * Math.exp(-0.5 * d2);
    });
  };
  const side = () => prng.int(0, 1);

  const consolidation = strength(FINDING.consolidation), pneumonia = strength(FINDING.pneumonia);
  if (consolidation > 0) {
    blob(lungPoint(side(), true), prng.uniform(0.05, 0.07), 70 * consolidation);
  }
  if (pneumonia > 0) {
    const s = side();
    for (let k = 0; k < 4; k++) blob(lungPoint(s, true), prng.uniform(0.02, 0.035), 45 * pneumonia);
  }
  const opacity = strength(FINDING.lungOpacity);
  if (opacity > 0) blob(lungPoint(side(), false), prng.uniform(0.035, 0.05), 45 * opacity);
  const edema = strength(FINDING.edema);
  if (edema > 0) {
    for (const s of [0, 1]) {
      const hilum = { x: lungs[s]! + (s ? -1 : 1) * lungRx * 0.45, y: lungCy };
      blob(hilum, 0.09, 48 * edema);
    }
  }
  const effusion = strength(FINDING.pleuralEffusion);
  if (effusion > 0) {
    const s = side(), level = lungCy + lungRy * prng.uniform(0.35, 0.6);
    paint(
      img,
      n,
      [lungs[s]! - lungRx, level - 0.05, lungs[s]! + lungRx, lungCy + lungRy],
      (x, y) => {
        const meniscus = level - 0.04 * Math.abs((x - lungs[s]!) / lungRx);
        const lx = (x - lungs[s]!) / lungRx, ly = (y - lungCy) / lungRy;
        return y > meniscus && lx * lx + ly * ly < 1 ? 60 * effusion : 0;
      },
    );
  }
  const pneumothorax = strength(FINDING.pneumothorax);
  if (pneumothorax > 0) {
    const s = side(), outward = s ? 1 : -1;
    const apexY = lungCy - lungRy * 0.55;
    paint(
      img,
      n,
      [lungs[s]! - lungRx * 1.1, lungCy - lungRy, lungs[s]! + lungRx * 1.1, lungCy],
      (x, y) => {
        const lx = (x - lungs[s]!) / lungRx, ly = (y - lungCy) / lungRy;
        if (lx * lx + ly * ly > 1 || y > apexY + 0.12) return 0;
        const edge = outward * lx - (0.35 + 2.5 * Math.max(0, y - apexY));
        if (Math.abs(edge) < 0.04) return 25 * pneumothorax;
        return edge > 0 ? -30 * pneumothorax : 0;
      },
    );
  }
  const atelectasis = strength(FINDING.atelectasis);
  if (atelectasis > 0) {
    const s = side(), yc = lungCy + lungRy * prng.uniform(0.4, 0.65);
    paint(img, n, [lungs[s]! - lungRx, yc - 0.03, lungs[s]! + lungRx, yc + 0.03], (x, y) => {
      const lineY = yc + 0.05 * (x - lungs[s]!);
      return Math.abs(y - lineY) < 0.009 && Math.abs(x - lungs[s]!) < lungRx * 0.7
        ? 50 * atelectasis
        : 0;
    });
  }
  const lesion = strength(FINDING.lungLesion);
  if (lesion > 0) {
    const at = lungPoint(side(), false), r = prng.uniform(0.015, 0.025);
    paint(
      img,
      n,
      [at.x - r, at.y - r, at.x + r, at.y + r],
      (x, y) => (x - at.x) ** 2 + (y - at.y) ** 2 < r * r ? 65 * lesion : 0,
    );
  }
  const pleuralOther = strength(FINDING.pleuralOther);
  if (pleuralOther > 0) {
    const s = side();
    paint(img, n, [
      lungs[s]! - lungRx * 1.05,
      lungCy - lungRy,
      lungs[s]! + lungRx * 1.05,
      lungCy + lungRy,
    ], (x, y) => {
      const lx = (x - lungs[s]!) / lungRx, ly = (y - lungCy) / lungRy;
      const e = Math.sqrt(lx * lx + ly * ly);
      return e > 0.9 && e < 1.02 && (s ? lx > 0.3 : lx < -0.3) ? 40 * pleuralOther : 0;
    });
  }
  const fracture = strength(FINDING.fracture);
  if (fracture > 0) {
    const at = lungPoint(side(), false);
    paint(
      img,
      n,
      [at.x - 0.03, at.y - 0.03, at.x + 0.03, at.y + 0.03],
      (x, y) => Math.abs((x - at.x) - (y - at.y) * 0.3) < 0.004 ? -40 * fracture : 0,
    );
  }
  if (findings[FINDING.supportDevices] === 1) {
    // Endotracheal tube in the midline, a central line from the right, ECG leads.
    paint(
      img,
      n,
      [cx - 0.01, 0, cx + 0.01, 0.34],
      (x) => Math.abs(x - cx - 0.004) < 0.004 ? 110 : 0,
    );
    const startX = cx - 0.3, startY = 0.14;
    paint(img, n, [startX - 0.01, startY - 0.01, cx, 0.36], (x, y) => {
      const t = (x - startX) / (cx - 0.02 - startX);
      if (t < 0 || t > 1) return 0;
      const lineY = startY + (0.34 - startY) * t * t;
      return Math.abs(y - lineY) < 0.004 ? 100 : 0;
    });
    for (
      const lead of [{ x: cx - 0.3, y: 0.25 }, { x: cx + 0.32, y: 0.27 }, { x: cx + 0.25, y: 0.8 }]
    ) {
      paint(img, n, [lead.x - 0.03, lead.y - 0.03, lead.x + 0.03, lead.y + 0.03], (x, y) => {
        const r = Math.hypot(x - lead.x, y - lead.y);
        return r > 0.014 && r < 0.022 ? 120 : 0;
      });
    }
  }
  // Exposure, contrast and quantum noise.
  const gain = prng.uniform(0.9, 1.15), bias = prng.normal(0, 6);
  const out = new Uint8Array(n * n);
  // Inline xorshift32 for the per-pixel noise (a method call per pixel is too slow).
  let state = (prng.next() * 4294967295) | 1;
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const noise = ((state & 0xffff) + ((state >>> 16) & 0xffff)) / 65536 - 1;
    const v = img[i]! * gain + bias + noise * 10;
    out[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
  return out;
}
