/**
 * Runs the test files named on the command line in this one process, as uvu's own CLI does (import
 * every file, queueing its suites, then run the queue with uvu's `exec`, which prints the usual report
 * and its "Total / Passed / Skipped" lines). test/run.ts starts one of these per group of files, so
 * that it chooses which files share a process.
 *
 * With KILN_TEST_TIMES set, it also times each file, its import (top-level code included) plus the
 * running of its suites, and prints `KILN_TEST_TIME <wall s> <cpu s> <file>` when the file's suites
 * end, which test/run.ts collects into a table. CPU seconds are this process's and those of its child
 * processes that ended meanwhile (nvcc, cc, python, workers), so they measure a file's work even on a
 * loaded machine, where wall seconds vary. The suites are timed by wrapping the run functions uvu
 * queued for the file; nothing else about the run changes.
 *
 * Usage: node --import tsx test/support/uvu-files.ts FILE...   (paths relative to test/)
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './paths.ts';

/** The prefix of each per-file timing line. */
export const TIME_PREFIX = 'KILN_TEST_TIME';

type Run = () => Promise<unknown>;
const g = globalThis as unknown as { UVU_DEFER?: number; UVU_INDEX?: number; UVU_QUEUE?: [string, ...Run[]][] };

/** CPU seconds so far of this process and of its children that have ended (Linux; 0 elsewhere). */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    // /proc/self/stat: fields 16 and 17 (after the parenthesised name) are cutime and cstime, in ticks
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch { /* not Linux */ }
  return (own.user + own.system) / 1e6 + children;
}

/** Runs `files` (paths relative to test/) as uvu's CLI would, timing each when KILN_TEST_TIMES is set. */
async function main(files: readonly string[]): Promise<void> {
  const timed = !!process.env.KILN_TEST_TIMES;
  process.env.FORCE_COLOR = '1'; // as uvu's CLI sets it (its --color default), for the tests too
  g.UVU_DEFER = 1; // queue the suites instead of running each at once (what uvu's CLI sets)
  const uvu = await import('uvu');
  g.UVU_QUEUE ??= [];
  const wall = new Array<number>(files.length).fill(0), cpu = new Array<number>(files.length).fill(0);
  /** Runs `f`, adding its wall and CPU seconds to file `i`'s. */
  const time = async <T>(i: number, f: () => Promise<T>): Promise<T> => {
    const w0 = performance.now(), c0 = cpuSeconds();
    try { return await f(); } finally { wall[i] += (performance.now() - w0) / 1000; cpu[i] += cpuSeconds() - c0; }
  };
  for (const [i, file] of files.entries()) {
    g.UVU_INDEX = i;
    g.UVU_QUEUE.push([file]);
    await time(i, () => import(pathToFileURL(path.join(REPO_ROOT, 'test', file)).href));
  }
  if (timed) {
    for (const [i, group] of g.UVU_QUEUE.entries()) {
      if (group.length === 1) console.log(`${TIME_PREFIX} ${wall[i].toFixed(2)} ${cpu[i].toFixed(2)} ${files[i]}`);
      for (let j = 1; j < group.length; j++) {
        const run = group[j] as Run, last = j === group.length - 1;
        group[j] = async () => {
          try { return await time(i, run); } finally {
            if (last) console.log(`${TIME_PREFIX} ${wall[i].toFixed(2)} ${cpu[i].toFixed(2)} ${files[i]}`);
          }
        };
      }
    }
  }
  await uvu.exec();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
