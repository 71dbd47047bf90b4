/**
 * Which kiln is running: the `version` field of package.json (`kiln --version`, the Jupyter kernel's
 * info, report manifests) and, when kiln runs from a git checkout, the commit it is at and whether
 * tracked files differ from it (`kilnCommit`; untracked files are not counted, so a checkout with a
 * local node_modules link or build output is still clean).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json: kiln's checkout or installed package. */
const ROOT = path.dirname(fileURLToPath(new URL('../package.json', import.meta.url)));

/** The package version, e.g. '0.1.0'; '0.0.0' when package.json cannot be read. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The git commit of a kiln checkout. */
export interface KilnCommit {
  /** `git rev-parse HEAD`: 40 hex digits. */
  readonly commit: string;
  /** True when tracked files differ from the commit (staged or not). */
  readonly dirty: boolean;
}

/** Runs git in `root`; its trimmed stdout, or undefined when git is missing or fails. */
function git(root: string, args: readonly string[]): string | undefined {
  const r = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  return r.error || r.status !== 0 ? undefined : r.stdout.trim();
}

/** A path with links resolved (as given when it cannot be). */
function real(p: string): string {
  try { return realpathSync(p); } catch { return path.resolve(p); }
}

/**
 * The commit of kiln's own checkout and whether it is dirty; null when kiln is not a git checkout of
 * its own (an installed package, even inside someone else's repository) or git is not installed.
 */
export function kilnCommit(root: string = ROOT): KilnCommit | null {
  const top = git(root, ['rev-parse', '--show-toplevel']);
  if (!top || real(top) !== real(root)) return null;
  const commit = git(root, ['rev-parse', 'HEAD']);
  const status = git(root, ['status', '--porcelain', '--untracked-files=no']);
  if (!commit || !/^[0-9a-f]{40}$/.test(commit) || status === undefined) return null;
  return { commit, dirty: status !== '' };
}
