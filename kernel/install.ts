/**
 * Installing the kiln kernelspec: a folder `kernels/NAME/` with kernel.json and logos, where Jupyter
 * looks for kernels.
 *
 * kernel.json's argv runs this checkout directly: the absolute path of the node that runs the install,
 * `--import` with the absolute path of tsx's loader (a bare `tsx` would be resolved from the folder
 * Jupyter starts the kernel in, usually a notebook's, and fail), the absolute path of cli/main.ts,
 * then `kernel -f {connection_file}`. interrupt_mode is `message`: Jupyter sends interrupt_request on
 * the control channel (the kernel also takes SIGINT).
 *
 * Where: `--prefix DIR` installs to DIR/share/jupyter/kernels/NAME (a system or virtualenv prefix);
 * otherwise (the default, same as `--user`) to the user's Jupyter data folder: $JUPYTER_DATA_DIR, else
 * ~/Library/Jupyter on macOS, %APPDATA%\jupyter on Windows, $XDG_DATA_HOME/jupyter or
 * ~/.local/share/jupyter elsewhere. The logos are drawn here (SVG, and PNGs encoded with zlib).
 */
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { writeFilesAtomic } from '../compiler/files.ts';
import { KilnError } from '../compiler/errors.ts';

/** Options of `installKernelSpec`. */
export interface InstallOptions {
  /** Install to the user's Jupyter data folder (the default). */
  readonly user?: boolean;
  /** Install under DIR/share/jupyter/kernels. */
  readonly prefix?: string;
  /** Kernel name (folder name), default `kiln`. */
  readonly name?: string;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The kernel.json content for this checkout and node. */
export function kernelSpec(): Record<string, unknown> {
  return {
    argv: [process.execPath, '--import', fileURLToPath(import.meta.resolve('tsx')), path.join(repoRoot, 'cli', 'main.ts'), 'kernel', '-f', '{connection_file}'],
    display_name: 'kiln (TypeScript)',
    language: 'typescript',
    interrupt_mode: 'message',
    metadata: { debugger: false },
  };
}

/** The user's Jupyter data folder. */
export function jupyterDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'jupyter');
  return path.join(process.env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
}

/** Writes the kernelspec folder (all files at once, compiler/files.ts); returns its path. KilnError if it cannot. */
export function installKernelSpec(opts: InstallOptions = {}): string {
  const name = opts.name ?? 'kiln';
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new KilnError(`kernel name '${name}' may only contain letters, digits, '.', '_' and '-'`);
  const base = opts.prefix ? path.join(path.resolve(opts.prefix), 'share', 'jupyter') : jupyterDataDir();
  const dir = path.join(base, 'kernels', name);
  writeFilesAtomic(dir, [
    ['kernel.json', JSON.stringify(kernelSpec(), null, 2) + '\n'],
    ['logo-svg.svg', LOGO_SVG],
    ['logo-32x32.png', logoPNG(32)],
    ['logo-64x64.png', logoPNG(64)],
  ], { what: 'the kernelspec', makeParents: true });
  return dir;
}

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <path d="M10 58 V30 A22 22 0 0 1 54 30 V58 Z" fill="#e8702a"/>
  <path d="M24 58 V40 A8 8 0 0 1 40 40 V58 Z" fill="#ffd166"/>
</svg>
`;

/** Which colour the logo has at (u, v) in [0,1]²: 0 none, 1 kiln, 2 fire (the same shapes as the SVG). */
function logoAt(u: number, v: number): 0 | 1 | 2 {
  const inArch = (left: number, right: number, top: number, r: number) =>
    u >= left && u <= right && v <= 58 / 64 && (v >= top || Math.hypot(u - 0.5, v - top) <= r);
  if (inArch(24 / 64, 40 / 64, 40 / 64, 8 / 64)) return 2;
  if (inArch(10 / 64, 54 / 64, 30 / 64, 22 / 64)) return 1;
  return 0;
}

/** An RGBA PNG of the logo, `size` pixels square (4×4 supersampled). */
export function logoPNG(size: number): Buffer {
  const colours = [[0, 0, 0, 0], [0xe8, 0x70, 0x2a, 255], [0xff, 0xd1, 0x66, 255]];
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const c = colours[logoAt((x + (sx + 0.5) / 4) / size, (y + (sy + 0.5) / 4) / size)];
          for (let k = 0; k < 3; k++) acc[k] += c[k] * c[3];
          acc[3] += c[3];
        }
      }
      const o = y * (size * 4 + 1) + 1 + x * 4;
      for (let k = 0; k < 3; k++) raw[o + k] = acc[3] ? Math.round(acc[k] / acc[3]) : 0;
      raw[o + 3] = Math.round(acc[3] / 16);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE) as PNG chunks use it. */
export function crc32(buf: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
