// A dependency-free line chart as PNG: an RGB raster, a 5x7 bitmap font (upper case, digits, a little punctuation),
// written with node:zlib (deflate, crc32). Enough for the benchmark's cost-growth plot.
import { crc32, deflateSync } from 'node:zlib';

// prettier-ignore
const GLYPHS = {
  A: '.###.#...##...#######...##...##...#', B: '####.#...##...#####.#...##...#####.', C: '.###.#...##....#....#....#...#.###.',
  D: '####.#...##...##...##...##...#####.', E: '######....#....####.#....#....#####', F: '######....#....####.#....#....#....',
  G: '.###.#...##....#.####...##...#.####', H: '#...##...##...#######...##...##...#', I: '.###...#....#....#....#....#...###.',
  J: '..###...#....#....#....#.#..#..##..', K: '#...##..#.#.#..##...#.#..#..#.#...#', L: '#....#....#....#....#....#....#####',
  M: '#...###.###.#.##.#.##...##...##...#', N: '#...##...###..##.#.##..###...##...#', O: '.###.#...##...##...##...##...#.###.',
  P: '####.#...##...#####.#....#....#....', Q: '.###.#...##...##...##.#.##..#..##.#', R: '####.#...##...#####.#.#..#..#.#...#',
  S: '.#####....#.....###.....#....#####.', T: '#####..#....#....#....#....#....#..', U: '#...##...##...##...##...##...#.###.',
  V: '#...##...##...##...##...#.#.#...#..', W: '#...##...##...##.#.##.#.##.#.#.#.#.', X: '#...##...#.#.#...#...#.#.#...##...#',
  Y: '#...##...#.#.#...#....#....#....#..', Z: '#####....#...#...#...#...#....#####',
  0: '.###.#...##..###.#.###..##...#.###.', 1: '..#...##....#....#....#....#...###.', 2: '.###.#...#....#...#...#...#...#####',
  3: '#####...#...#.....#.....##...#.###.', 4: '...#...##..#.#.#..#.#####...#....#.', 5: '######....####.....#....##...#.###.',
  6: '..##..#...#....####.#...##...#.###.', 7: '#####....#...#...#...#....#....#...', 8: '.###.#...##...#.###.#...##...#.###.',
  9: '.###.#...##...#.####....#...#..##..',
  '.': '..........................##...##..', ',': '.....................##....#...#...', ':': '......##...##........##...##.......',
  '-': '...............#####...............', '+': '.......#....#..#####..#....#.......', '=': '..........#####.....#####..........',
  '(': '...#...#...#....#....#.....#.....#.', ')': '.#.....#.....#....#....#...#...#...', '/': '.....' + '....#...#...#...#...#....' + '.....',
  '%': '##...##..#...#...#...#...#..##...##', _: '..............................#####', "'": '..#....#...#.......................',
  ' ': '.'.repeat(35),
};

export class Canvas {
  constructor(width, height, background = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.px = Buffer.alloc(width * height * 3);
    this.fill(0, 0, width, height, background);
  }
  set(x, y, [r, g, b]) {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.px[i] = r;
    this.px[i + 1] = g;
    this.px[i + 2] = b;
  }
  fill(x, y, w, h, color) {
    for (let j = Math.round(y); j < Math.round(y + h); j++) for (let i = Math.round(x); i < Math.round(x + w); i++) this.set(i, j, color);
  }
  /** A line `thickness` pixels wide (a square brush along a DDA), optionally dashed. */
  line(x0, y0, x1, y1, color, thickness = 1, dash = 0) {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const half = Math.floor(thickness / 2);
    for (let s = 0; s <= steps; s++) {
      if (dash && Math.floor(s / dash) % 2 === 1) continue;
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.fill(x - half, y - half, thickness, thickness, color);
    }
  }
  dot(x, y, radius, color) {
    for (let j = -radius; j <= radius; j++) for (let i = -radius; i <= radius; i++) if (i * i + j * j <= radius * radius + 1) this.set(x + i, y + j, color);
  }
  /** Text in the 5x7 font, upper-cased, `scale` pixels per font pixel; `align` left, center or right of x. */
  text(x, y, str, color = [0, 0, 0], scale = 2, align = 'left') {
    const s = String(str).toUpperCase();
    const w = this.textWidth(s, scale);
    let cx = align === 'center' ? x - w / 2 : align === 'right' ? x - w : x;
    for (const ch of s) {
      const g = GLYPHS[ch] ?? GLYPHS[' '];
      for (let r = 0; r < 7; r++) for (let c = 0; c < 5; c++) if (g[r * 5 + c] === '#') this.fill(cx + c * scale, y + r * scale, scale, scale, color);
      cx += 6 * scale;
    }
  }
  textWidth(str, scale = 2) {
    return String(str).length * 6 * scale - scale;
  }
  /** Text rotated 90° counter-clockwise (for a y-axis label), centred on (x, y). */
  textVertical(x, y, str, color = [0, 0, 0], scale = 2) {
    const s = String(str).toUpperCase();
    let cy = y + this.textWidth(s, scale) / 2;
    for (const ch of s) {
      const g = GLYPHS[ch] ?? GLYPHS[' '];
      for (let r = 0; r < 7; r++) for (let c = 0; c < 5; c++) if (g[r * 5 + c] === '#') this.fill(x + r * scale, cy - c * scale - scale, scale, scale, color);
      cy -= 6 * scale;
    }
  }
  png() {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 3 + 1)] = 0; // filter: none
      this.px.copy(raw, y * (this.width * 3 + 1) + 1, y * this.width * 3, (y + 1) * this.width * 3);
    }
    const chunk = (type, data) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(td) >>> 0);
      return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

/** Round tick step for a range: 1, 2 or 5 times a power of ten, about `n` ticks. */
function tickStep(max, n = 5) {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => max / s <= n + 0.5) ?? 10 * p;
}
const fmt = (v) => (Math.abs(v) >= 10 || Number.isInteger(v) ? String(Math.round(v * 100) / 100) : v.toFixed(v < 1 ? 2 : 1));

/**
 * Panels side by side, each a line chart: `{ title, xLabel, yLabel, series: [{ name, color, points: [[x, y]], dash }] }`.
 * Both axes linear from 0; x ticks at the data's x values. Returns PNG bytes.
 */
export function lineChart({ panels, width = 1200, height = 520, title }) {
  const cv = new Canvas(width, height);
  const top = title ? 50 : 20;
  if (title) cv.text(width / 2, 16, title, [0, 0, 0], 3, 'center');
  const legendH = 70;
  const pw = width / panels.length;
  for (const [k, panel] of panels.entries()) {
    const x0 = k * pw + 90;
    const x1 = (k + 1) * pw - 30;
    const y0 = height - legendH - 50; // plot bottom
    const y1 = top + 40; // plot top
    cv.text((x0 + x1) / 2, top + 8, panel.title, [0, 0, 0], 2, 'center');
    const xs = [...new Set(panel.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const xMax = Math.max(...xs) * 1.04;
    const yMaxData = Math.max(...panel.series.flatMap((s) => s.points.map((p) => p[1])));
    const step = tickStep(yMaxData * 1.1);
    const yMax = Math.ceil((yMaxData * 1.1) / step) * step;
    const X = (v) => x0 + ((x1 - x0) * v) / xMax;
    const Y = (v) => y0 - ((y0 - y1) * v) / yMax;
    // grid and y ticks
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      cv.line(x0, Y(v), x1, Y(v), [225, 225, 225]);
      cv.text(x0 - 8, Y(v) - 7, fmt(v), [60, 60, 60], 2, 'right');
    }
    // x ticks at data points (labels skipped where they would overlap the previous one)
    let lastRight = -Infinity;
    for (const v of xs) {
      cv.line(X(v), y0, X(v), y0 + 6, [0, 0, 0]);
      const w = cv.textWidth(fmt(v), 2);
      if (X(v) - w / 2 > lastRight + 6) {
        cv.text(X(v), y0 + 12, fmt(v), [60, 60, 60], 2, 'center');
        lastRight = X(v) + w / 2;
      }
    }
    cv.line(x0, y0, x1, y0, [0, 0, 0], 2);
    cv.line(x0, y0, x0, y1, [0, 0, 0], 2);
    cv.text((x0 + x1) / 2, y0 + 36, panel.xLabel, [0, 0, 0], 2, 'center');
    cv.textVertical(x0 - 78, (y0 + y1) / 2, panel.yLabel, [0, 0, 0], 2);
    for (const s of panel.series) {
      const pts = [...s.points].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < pts.length; i++) cv.line(X(pts[i - 1][0]), Y(pts[i - 1][1]), X(pts[i][0]), Y(pts[i][1]), s.color, 3, s.dash ?? 0);
      for (const [x, y] of pts) cv.dot(X(x), Y(y), 5, s.color);
    }
  }
  // legend (series names of the first panel)
  const names = panels[0].series;
  let lx = 90;
  const ly = height - legendH + 20;
  for (const s of names) {
    cv.line(lx, ly + 7, lx + 40, ly + 7, s.color, 3, s.dash ?? 0);
    cv.dot(lx + 20, ly + 7, 5, s.color);
    cv.text(lx + 50, ly, s.name, [0, 0, 0], 2);
    lx += 50 + cv.textWidth(s.name, 2) + 40;
  }
  return cv.png();
}
