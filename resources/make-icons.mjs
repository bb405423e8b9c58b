#!/usr/bin/env node
// Draws router67's icons into resources/: the tray icon in three looks (on, off, error) as macOS template images
// (black + alpha, 16 px and @2x), Linux PNGs and Windows ICOs, plus the app icon (icon.png 512 px, icon.ico).
// The glyph is a fork: one source node routed to two upstream nodes. Pure Node (zlib), no image library.
//   node resources/make-icons.mjs            writes the files next to this script
//   node resources/make-icons.mjs OUT_DIR    writes them elsewhere
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------- geometry (unit square, y down)

const SRC = [0.2, 0.5];
const TOP = [0.8, 0.22];
const BOT = [0.8, 0.78];

function bezier(p0, p1, p2, p3, n = 24) {
  const pts = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const u = 1 - t;
    pts.push([
      u * u * u * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t * t * t * p3[0],
      u * u * u * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t * t * t * p3[1],
    ]);
  }
  return pts;
}

const UPPER = bezier(SRC, [0.5, 0.5], [0.5, TOP[1]], TOP);
const LOWER = bezier(SRC, [0.5, 0.5], [0.5, BOT[1]], BOT);

function distToSegment(px, py, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = dx * dx + dy * dy;
  let t = len ? ((px - a[0]) * dx + (py - a[1]) * dy) / len : 0;
  t = Math.max(0, Math.min(1, t));
  const x = a[0] + t * dx - px;
  const y = a[1] + t * dy - py;
  return Math.sqrt(x * x + y * y);
}

function distToPolyline(px, py, pts) {
  let d = Infinity;
  for (let i = 1; i < pts.length; i++) d = Math.min(d, distToSegment(px, py, pts[i - 1], pts[i]));
  return d;
}

const disc = (c, r) => (x, y) => Math.hypot(x - c[0], y - c[1]) <= r;
const ring = (c, r, w) => (x, y) => Math.abs(Math.hypot(x - c[0], y - c[1]) - r) <= w / 2;
const stroke = (pts, w) => (x, y) => distToPolyline(x, y, pts) <= w / 2;
const cross = (c, s, w) => {
  const a = [
    [c[0] - s, c[1] - s],
    [c[0] + s, c[1] + s],
  ];
  const b = [
    [c[0] - s, c[1] + s],
    [c[0] + s, c[1] - s],
  ];
  return (x, y) => distToSegment(x, y, a[0], a[1]) <= w / 2 || distToSegment(x, y, b[0], b[1]) <= w / 2;
};
const minus = (f, g) => (x, y) => f(x, y) && !g(x, y);
const union = (...fs) => (x, y) => fs.some((f) => f(x, y));

/** The glyph for a look, as a list of [inside(x,y), rgba] layers. */
function glyph(look, color) {
  const W = 0.11;
  const lines = union(stroke(UPPER, W), stroke(LOWER, W));
  if (look === 'on') {
    return [[union(lines, disc(SRC, 0.15), disc(TOP, 0.13), disc(BOT, 0.13)), color]];
  }
  if (look === 'off') {
    // hollow nodes, dimmed: routing is idle
    const nodes = union(ring(SRC, 0.115, 0.08), ring(TOP, 0.1, 0.075), ring(BOT, 0.1, 0.075));
    const holes = union(disc(SRC, 0.075), disc(TOP, 0.062), disc(BOT, 0.062));
    return [[union(minus(lines, holes), nodes), [color[0], color[1], color[2], Math.round(color[3] * 0.62)]]];
  }
  // error: the lower route ends in a cross
  const upperOnly = union(stroke(UPPER, W), stroke(LOWER.slice(0, 15), W), disc(SRC, 0.15), disc(TOP, 0.13));
  return [[union(upperOnly, cross(BOT, 0.1, 0.1)), color]];
}

// ---------------------------------------------------------------- raster

function render(size, layers, { samples = 4, background } = {}) {
  const px = new Uint8Array(size * size * 4);
  const n = samples * samples;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      const put = (col, cov) => {
        if (!cov) return;
        const sa = (col[3] / 255) * cov;
        const out = sa + a * (1 - sa);
        if (out > 0) {
          r = (col[0] * sa + r * a * (1 - sa)) / out;
          g = (col[1] * sa + g * a * (1 - sa)) / out;
          b = (col[2] * sa + b * a * (1 - sa)) / out;
        }
        a = out;
      };
      const coverage = (f) => {
        let c = 0;
        for (let sy = 0; sy < samples; sy++) {
          for (let sx = 0; sx < samples; sx++) {
            if (f((x + (sx + 0.5) / samples) / size, (y + (sy + 0.5) / samples) / size)) c++;
          }
        }
        return c / n;
      };
      const at = (col) => (typeof col === 'function' ? col((x + 0.5) / size, (y + 0.5) / size) : col);
      if (background) for (const [f, col] of background) put(at(col), coverage(f));
      for (const [f, col] of layers) put(col, coverage(f));
      const i = (y * size + x) * 4;
      px[i] = Math.round(r);
      px[i + 1] = Math.round(g);
      px[i + 2] = Math.round(b);
      px[i + 3] = Math.round(a * 255);
    }
  }
  return px;
}

// ---------------------------------------------------------------- PNG / ICO containers

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

export function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 32-bit DIB entry (BGRA bottom-up + an all-zero AND mask), as Windows' tray expects for small sizes. */
function dibEntry(size, rgba) {
  const header = Buffer.alloc(40);
  const maskRow = Math.ceil(size / 32) * 4;
  header.writeUInt32LE(40, 0);
  header.writeInt32LE(size, 4);
  header.writeInt32LE(size * 2, 8);
  header.writeUInt16LE(1, 12);
  header.writeUInt16LE(32, 14);
  header.writeUInt32LE(0, 16);
  header.writeUInt32LE(size * size * 4 + maskRow * size, 20);
  const pixels = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = (y * size + x) * 4;
      const d = ((size - 1 - y) * size + x) * 4;
      pixels[d] = rgba[s + 2];
      pixels[d + 1] = rgba[s + 1];
      pixels[d + 2] = rgba[s];
      pixels[d + 3] = rgba[s + 3];
    }
  }
  return Buffer.concat([header, pixels, Buffer.alloc(maskRow * size)]);
}

/** An ICO file from [size, rgba] images; 256 px entries are stored as PNG. */
export function encodeIco(images) {
  const head = Buffer.alloc(6);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(1, 2);
  head.writeUInt16LE(images.length, 4);
  const bodies = images.map(([size, rgba]) => (size >= 256 ? encodePng(size, rgba) : dibEntry(size, rgba)));
  const dir = Buffer.alloc(16 * images.length);
  let offset = 6 + dir.length;
  images.forEach(([size], i) => {
    const e = i * 16;
    dir[e] = size >= 256 ? 0 : size;
    dir[e + 1] = size >= 256 ? 0 : size;
    dir[e + 2] = 0;
    dir[e + 3] = 0;
    dir.writeUInt16LE(1, e + 4);
    dir.writeUInt16LE(32, e + 6);
    dir.writeUInt32LE(bodies[i].length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += bodies[i].length;
  });
  return Buffer.concat([head, dir, ...bodies]);
}

// ---------------------------------------------------------------- the set

export const LOOKS = ['on', 'off', 'error'];
const COLORS = { on: [38, 150, 88, 255], off: [128, 128, 134, 255], error: [214, 64, 56, 255] };
const BLACK = [0, 0, 0, 255];
const WHITE = [255, 255, 255, 255];

function roundedSquare(inset, radius) {
  return (x, y) => {
    const lo = inset;
    const hi = 1 - inset;
    if (x < lo || x > hi || y < lo || y > hi) return false;
    const cx = Math.min(Math.max(x, lo + radius), hi - radius);
    const cy = Math.min(Math.max(y, lo + radius), hi - radius);
    return Math.hypot(x - cx, y - cy) <= radius;
  };
}

function scaled(layers, k) {
  return layers.map(([f, col]) => [(x, y) => f((x - 0.5) / k + 0.5, (y - 0.5) / k + 0.5), col]);
}

function appIcon(size) {
  const sq = roundedSquare(0.06, 0.2);
  // a soft vertical gradient (colour taken at the pixel's centre)
  const grad = (_x, y) => [Math.round(58 - 22 * y), Math.round(124 - 32 * y), Math.round(238 - 34 * y), 255];
  const bg = [[sq, grad]];
  return render(size, scaled(glyph('on', WHITE), 0.62), { samples: size > 64 ? 3 : 4, background: bg });
}

/** Every file, name -> bytes. */
export function renderAll() {
  const out = new Map();
  for (const look of LOOKS) {
    const Cap = look[0].toUpperCase() + look.slice(1);
    out.set(`tray${Cap}Template.png`, encodePng(16, render(16, glyph(look, BLACK))));
    out.set(`tray${Cap}Template@2x.png`, encodePng(32, render(32, glyph(look, BLACK))));
    out.set(`tray-${look}.png`, encodePng(32, render(32, glyph(look, COLORS[look]))));
    out.set(`tray-${look}.ico`, encodeIco([16, 24, 32, 48].map((s) => [s, render(s, glyph(look, COLORS[look]))])));
  }
  out.set('icon.png', encodePng(512, appIcon(512)));
  out.set('icon.ico', encodeIco([16, 32, 48, 256].map((s) => [s, appIcon(s)])));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of renderAll()) {
    writeFileSync(join(dir, name), bytes);
    console.log(`${name} (${bytes.length} bytes)`);
  }
}
