// Packaging, offline: electron-builder.yml against electron-builder's own JSON schema plus our requirements, and
// the icon files (real PNG/ICO, distinct looks, reproducible from resources/make-icons.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { trayIconFile, type TrayLook } from '../../main/electron/tray-menu.js';

const root = resolve(__dirname, '..', '..', '..');
const res = join(root, 'resources');

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(s: string): unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Ajv = require('ajv') as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown[] } };

function config(): any {
  return yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));
}

test('electron-builder.yml is valid against electron-builder’s schema', () => {
  const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  const ok = validate(config());
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  // and the schema is strict enough to catch a typo
  assert.equal(validate({ ...config(), macc: {} }), false);
});

test('electron-builder.yml has what the app needs', () => {
  const c = config();
  assert.deepEqual(c.mac.target, ['dmg']);
  assert.equal(c.mac.extendInfo.LSUIElement, true);
  assert.deepEqual([...c.linux.target].sort(), ['AppImage', 'deb']);
  assert.deepEqual(c.win.target, ['nsis']);
  assert.ok(c.asarUnpack.some((p: string) => /^node_modules\/keytar\//.test(p)), 'keytar unpacked from asar');
  assert.ok(c.asarUnpack.some((p: string) => /^node_modules\/better-sqlite3\//.test(p)), 'better-sqlite3 unpacked from asar');
  assert.ok(c.files.includes('dist/renderer/**'), 'the Usage view\'s uPlot files (dist/renderer/vendor) are packaged');
  for (const icon of [c.mac.icon, c.linux.icon, c.win.icon]) assert.ok(existsSync(join(root, icon)), `${icon} exists`);
  assert.equal(c.directories.buildResources, 'resources');
  // the app's entry, preload and page are packaged
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.main, 'dist/main/electron/main.js');
  for (const dir of ['dist/main/**', 'dist/preload/**', 'dist/renderer/**']) assert.ok(c.files.includes(dir), dir);
  // every tray image the app asks for at run time is shipped to resources/icons
  const extra = c.extraResources.find((e: any) => e.to === 'icons');
  assert.equal(extra.from, 'resources');
  const globs = (extra.filter as string[]).map((g) => new RegExp(`^${g.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`));
  for (const look of ['on', 'off', 'error'] as TrayLook[]) {
    for (const platform of ['darwin', 'linux', 'win32'] as NodeJS.Platform[]) {
      const f = trayIconFile(look, platform);
      assert.ok(existsSync(join(res, f)), `${f} exists`);
      assert.ok(globs.some((g) => g.test(f)), `${f} is packaged`);
      if (platform === 'darwin') assert.ok(existsSync(join(res, f.replace('.png', '@2x.png'))), `${f} @2x`);
    }
  }
});

interface Png {
  w: number;
  h: number;
  px: Buffer;
}

function decodePng(buf: Buffer): Png {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let o = 8;
  let w = 0;
  let h = 0;
  const idat: Buffer[] = [];
  while (o < buf.length) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('ascii', o + 4, o + 8);
    const data = buf.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      w = data.readUInt32BE(0);
      h = data.readUInt32BE(4);
      assert.equal(data[8], 8);
      assert.equal(data[9], 6, 'RGBA');
    }
    if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    assert.equal(raw[y * (w * 4 + 1)], 0);
    raw.copy(px, y * w * 4, y * (w * 4 + 1) + 1, (y + 1) * (w * 4 + 1));
  }
  return { w, h, px };
}

function icoSizes(buf: Buffer): number[] {
  assert.equal(buf.readUInt16LE(0), 0);
  assert.equal(buf.readUInt16LE(2), 1, 'ICO type');
  const n = buf.readUInt16LE(4);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const e = 6 + i * 16;
    const size = buf[e] || 256;
    const len = buf.readUInt32LE(e + 8);
    const off = buf.readUInt32LE(e + 12);
    assert.ok(off + len <= buf.length, 'entry inside the file');
    const body = buf.subarray(off, off + len);
    if (size === 256) assert.equal(body.toString('ascii', 1, 4), 'PNG');
    else {
      assert.equal(body.readUInt32LE(0), 40, 'BITMAPINFOHEADER');
      assert.equal(body.readInt32LE(4), size);
      assert.equal(body.readUInt16LE(14), 32, '32 bpp');
    }
    sizes.push(size);
  }
  return sizes;
}

const opaque = (p: Png) => {
  let n = 0;
  for (let i = 3; i < p.px.length; i += 4) if (p.px[i]! > 128) n++;
  return n;
};

test('tray icons: template images are black with alpha; on, off and error look different', () => {
  const looks: Record<string, Png> = {};
  for (const look of ['On', 'Off', 'Error']) {
    const one = decodePng(readFileSync(join(res, `tray${look}Template.png`)));
    const two = decodePng(readFileSync(join(res, `tray${look}Template@2x.png`)));
    assert.deepEqual([one.w, one.h, two.w, two.h], [16, 16, 32, 32]);
    for (let i = 0; i < two.px.length; i += 4) assert.deepEqual([two.px[i], two.px[i + 1], two.px[i + 2]], [0, 0, 0], 'template: black only');
    assert.ok(opaque(two) > 60, `${look} has a visible glyph`);
    looks[look] = two;
  }
  assert.notDeepEqual(looks.On!.px, looks.Off!.px);
  assert.notDeepEqual(looks.On!.px, looks.Error!.px);
  assert.notDeepEqual(looks.Off!.px, looks.Error!.px);
  assert.ok(opaque(looks.Off!) < opaque(looks.On!), 'off is lighter than on');

  const colour = (f: string) => {
    const p = decodePng(readFileSync(join(res, f)));
    let r = 0;
    let g = 0;
    let n = 0;
    for (let i = 0; i < p.px.length; i += 4) if (p.px[i + 3]! > 200) (r += p.px[i]!, g += p.px[i + 1]!, n++);
    return { r: r / n, g: g / n };
  };
  const on = colour('tray-on.png');
  const err = colour('tray-error.png');
  assert.ok(on.g > on.r, 'on is green');
  assert.ok(err.r > err.g, 'error is red');
  for (const look of ['on', 'off', 'error']) assert.deepEqual(icoSizes(readFileSync(join(res, `tray-${look}.ico`))), [16, 24, 32, 48]);
  assert.deepEqual(icoSizes(readFileSync(join(res, 'icon.ico'))), [16, 32, 48, 256]);
  const app = decodePng(readFileSync(join(res, 'icon.png')));
  assert.deepEqual([app.w, app.h], [512, 512]);
});

test('the committed icons are what resources/make-icons.mjs draws', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'r67-icons-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const mod = (await import(pathToFileURL(join(res, 'make-icons.mjs')).href)) as { renderAll(): Map<string, Buffer> };
  const files = mod.renderAll();
  const shipped = readdirSync(res).filter((f) => /\.(png|ico)$/.test(f)).sort();
  assert.deepEqual([...files.keys()].sort(), shipped);
  for (const [name, bytes] of files) {
    const committed = readFileSync(join(res, name));
    if (name.endsWith('.png')) assert.deepEqual(decodePng(bytes).px, decodePng(committed).px, name);
    else assert.deepEqual(icoSizes(bytes), icoSizes(committed), name);
  }
});
