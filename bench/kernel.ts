/**
 * Jupyter kernel benchmark (part of `npm run bench`; alone: `node --import tsx bench/kernel.ts
 * [--executes N] [--starts N]`).
 *
 * What it measures, through a real client on zeromq (test/kernel-jupyter/wire-client.ts, written
 * from the protocol spec, not the kernel's own codec), with the kernelspec installed by
 * `kiln kernel install --prefix` into a temp folder and launched from its argv, as Jupyter does:
 * - start-up: from spawning the kernel process to receiving the reply to a kernel_info_request sent
 *   right after the spawn (median of `starts` cold starts; each kernel is shut down before the next);
 *   also shown, not a target: spawn to the execute_reply of a first `1+1` (cell worker and compiler up);
 * - round trip of a trivial cell: `1+1` sent as execute_request until both its execute_reply and its
 *   idle status have arrived (a frontend's "cell done"), median and 90th percentile of `executes` runs
 *   after 5 warm-ups on one kernel.
 * Targets from issue 5: round trip <= 5 ms, start-up <= 1 s. A benchmark prints; it asserts nothing.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { jupyterEnv, killEverything, sleep, waitGone } from '../test/kernel-jupyter/harness.ts';
import { startKernel } from '../test/kernel-jupyter/kernel-process.ts';
import { WireClient } from '../test/kernel-jupyter/wire-client.ts';

/** Targets from the issue (ms). */
export const KERNEL_TARGETS = { roundTrip: 5, startup: 1000 };

/** Settings of the kernel bench. */
export interface KernelBenchOptions {
  /** Timed executes of `1+1` (default 50). */
  executes?: number;
  /** Cold starts timed (default 3). */
  starts?: number;
}

/** Numbers the bench measured (ms). */
export interface KernelBenchResult {
  startupMedian: number;
  startups: number[];
  firstCellMedian: number;
  roundTripMedian: number;
  roundTripP90: number;
  roundTripMin: number;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Starts the kernel `starts` times and times `executes` trivial cells; prints and returns the numbers. */
export async function benchKernel(opts: KernelBenchOptions = {}): Promise<KernelBenchResult> {
  const executes = Math.max(1, opts.executes ?? 50);
  const starts = Math.max(1, opts.starts ?? 3);
  const env = await jupyterEnv();
  try {
    console.log(`\nkiln kernel bench: start-up to kernel_info_reply (median of ${starts} cold starts), `
      + `round trip of \`1+1\` (median of ${executes} after 5 warm-ups)`);
    console.log(`kernel: ${env.spec.argv.join(' ')}`);
    const startups: number[] = [], firstCells: number[] = [];
    let roundTrips: number[] = [];
    for (let s = 0; s < starts; s++) {
      const t0 = performance.now();
      const k = await startKernel(env);
      const client = new WireClient(k.info);
      try {
        await client.request('shell', 'kernel_info_request', {}, 60_000);
        startups.push(performance.now() - t0);
        const first = await client.send('shell', client.message('execute_request', {
          code: '1+1', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true,
        }));
        await client.reply('shell', first, 60_000);
        firstCells.push(performance.now() - t0);
        if (s === starts - 1) {
          await client.waitReady(30_000);
          for (let i = 0; i < 5; i++) await client.execute('1+1');
          roundTrips = [];
          for (let i = 0; i < executes; i++) {
            const t = performance.now();
            const { reply } = await client.execute('1+1');
            roundTrips.push(performance.now() - t);
            if (reply.content.status !== 'ok') throw new Error(`1+1 failed: ${JSON.stringify(reply.content)}`);
          }
        }
        await client.request('control', 'shutdown_request', { restart: false }, 10_000);
        await Promise.race([k.exited, sleep(5000)]);
        await waitGone([k.pid], 1000);
      } finally {
        client.close();
      }
    }
    const result: KernelBenchResult = {
      startupMedian: quantile(startups, 0.5), startups, firstCellMedian: quantile(firstCells, 0.5),
      roundTripMedian: quantile(roundTrips, 0.5), roundTripP90: quantile(roundTrips, 0.9), roundTripMin: Math.min(...roundTrips),
    };
    const mark = (v: number, target: number) => (v <= target ? 'ok' : 'OVER');
    console.log('measure'.padEnd(28) + 'ms'.padStart(10) + 'target'.padStart(10) + '');
    console.log('start-up (median)'.padEnd(28) + result.startupMedian.toFixed(0).padStart(10)
      + `<= ${KERNEL_TARGETS.startup}`.padStart(10) + `  ${mark(result.startupMedian, KERNEL_TARGETS.startup)}`
      + `  (runs: ${startups.map((x) => x.toFixed(0)).join(', ')})`);
    console.log('first cell done (median)'.padEnd(28) + result.firstCellMedian.toFixed(0).padStart(10) + '-'.padStart(10)
      + `      (runs: ${firstCells.map((x) => x.toFixed(0)).join(', ')})`);
    console.log('round trip 1+1 (median)'.padEnd(28) + result.roundTripMedian.toFixed(2).padStart(10)
      + `<= ${KERNEL_TARGETS.roundTrip}`.padStart(10) + `  ${mark(result.roundTripMedian, KERNEL_TARGETS.roundTrip)}`
      + `  (p90 ${result.roundTripP90.toFixed(2)}, min ${result.roundTripMin.toFixed(2)})`);
    return result;
  } finally {
    await killEverything();
    env.dispose();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { executes: { type: 'string', default: '50' }, starts: { type: 'string', default: '3' } } });
  await benchKernel({ executes: Number(values.executes), starts: Number(values.starts) });
}
