/**
 * Completion helpers of the kiln commands: candidates for the word being typed, from pass names, zoo
 * references, model files, step numbers and a command's options.
 *
 * Contract (see command.ts): candidates replace the last word of the argument text, i.e. the text
 * after its last whitespace ('' when the text ends with a space). `completeArgs` works out whether that
 * word is an option (`--re` → `--repeat`), an option's value (after `--planner `), or the k-th
 * positional argument, and asks the command for candidates of that kind. Model paths complete in the
 * directory typed so far: sub-directories (with a trailing `/`) and files ending in .onnx or .kir;
 * hidden entries only when the typed name starts with a dot; `~/` stands for the home directory and is
 * kept in the candidates.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandContext } from './command.ts';
import type { OptionSpec } from './args.ts';
import { zooNames } from '../zoo/index.ts';
import { allPasses } from '../passes/pass.ts';

/** The last word of argument text ('' after trailing whitespace). */
export function lastWord(argText: string): string {
  const m = /(\S*)$/.exec(argText);
  return m ? m[1] : '';
}

/** Candidates starting with `prefix`, without duplicates, in the given order. */
export function matching(prefix: string, candidates: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const c of candidates) if (c.startsWith(prefix)) out.add(c);
  return [...out];
}

/** `zoo:NAME` for every zoo model. */
export function zooRefs(): string[] {
  return zooNames().map((n) => `zoo:${n}`);
}

/** Names of the registered passes, sorted. */
export function passNames(): string[] {
  return allPasses().map((p) => p.name);
}

/** Model files (.onnx, .kir) and directories in the directory of the partial path. */
export function modelPaths(partial: string, cwd = process.cwd()): string[] {
  const slash = partial.lastIndexOf('/');
  const dirPart = slash >= 0 ? partial.slice(0, slash + 1) : '';
  const base = slash >= 0 ? partial.slice(slash + 1) : partial;
  const expanded = dirPart.startsWith('~/') ? path.join(os.homedir(), dirPart.slice(2)) : dirPart;
  const dir = path.resolve(cwd, expanded || '.');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.name.startsWith(base) || (e.name.startsWith('.') && !base.startsWith('.'))) continue;
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) {
      try { isDir = fs.statSync(path.join(dir, e.name)).isDirectory(); } catch { continue; }
    }
    if (isDir) out.push(`${dirPart}${e.name}/`);
    else if (/\.(onnx|kir)$/i.test(e.name)) out.push(`${dirPart}${e.name}`);
  }
  return out.sort();
}

/** Step numbers of the context's session: 0 to the pipeline's length ('' when none is loaded). */
export function stepNumbers(ctx: CommandContext): string[] {
  const s = ctx.session;
  return s ? Array.from({ length: s.length + 1 }, (_, i) => String(i)) : [];
}

/** What a command offers for its k-th positional word. */
export type PositionalCompleter = (index: number, ctx: CommandContext, word: string) => readonly string[];

/**
 * Candidates for the last word of `argText`: an option name, an option's value, or a positional
 * argument (see the module header).
 */
export function completeArgs(argText: string, ctx: CommandContext, options: readonly OptionSpec[],
  positional?: PositionalCompleter): string[] {
  const word = lastWord(argText);
  const before = argText.slice(0, argText.length - word.length).trim();
  const words = before ? before.split(/\s+/) : [];
  const prev = words[words.length - 1];
  const valueOf = prev?.startsWith('--') && !prev.includes('=') ? options.find((o) => o.name === prev.slice(2) && o.type !== 'flag') : undefined;
  if (valueOf) return matching(word, valueOf.values?.(ctx) ?? []);
  if (word.startsWith('-')) {
    const eq = word.indexOf('=');
    if (eq > 0) {
      const o = options.find((x) => x.name === word.slice(2, eq));
      return matching(word, (o?.values?.(ctx) ?? []).map((v) => `${word.slice(0, eq + 1)}${v}`));
    }
    return matching(word, options.flatMap((o) => (o.type === 'flag' ? [`--${o.name}`, `--no-${o.name}`] : [`--${o.name}`])));
  }
  if (!positional) return [];
  let index = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith('--')) {
      const o = options.find((x) => x.name === w.slice(2));
      if (o && o.type !== 'flag' && !w.includes('=')) i++;
      continue;
    }
    index++;
  }
  return matching(word, positional(index, ctx, word));
}
