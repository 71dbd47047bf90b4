/**
 * The fuzz test: seeded mutants of ONNX conformance models and .kir files (test/fuzz/mutators.ts) go
 * through import or parse, the verifiers and a reference run (test/fuzz/fuzz-worker.ts), in child
 * processes with a bounded heap (--max-old-space-size) and a low memory budget (KILN_MAX_MEMORY).
 * It fails on any internal error (an error that is not a KilnError, or a KilnError hiding a
 * TypeError/RangeError or an allocation failure), on a case that runs past its time limit (the child
 * is killed and the run goes on from the next case), and on a child that dies (killed for memory).
 * Each failure prints the seed, the case index and the mutant's description; rerun one case with
 *   node --import tsx test/fuzz/fuzz-worker.ts SEED INDEX 1
 *
 * Knobs (environment): KILN_FUZZ_CASES (default 400; thousands on demand, e.g. 5000),
 * KILN_FUZZ_SEED (default 9), KILN_FUZZ_CASE_SECONDS (per-case limit, default 30).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, conformanceDir } from '../support/paths.ts';

const CASES = Number(process.env.KILN_FUZZ_CASES ?? 400);
const SEED = Number(process.env.KILN_FUZZ_SEED ?? 9);
const CASE_MS = 1000 * Number(process.env.KILN_FUZZ_CASE_SECONDS ?? 30);
const HEAP_MB = 384;
const BUDGET = '64M';
const WORKER = path.join(REPO_ROOT, 'test', 'fuzz', 'fuzz-worker.ts');

interface CaseResult { i: number; status?: string; description?: string; detail?: string }

/** One fuzz run: seed, number of cases, per-case limit, extra environment for the children. */
interface FuzzRun { seed: number; cases: number; caseMs: number; env?: Record<string, string> }

/** Runs every case of `run`, restarting the child after a hang or crash; returns failures and status counts. */
async function fuzz(run: FuzzRun): Promise<{ failures: string[]; counts: Record<string, number> }> {
  const failures: string[] = [];
  const counts: Record<string, number> = {};
  let next = 0;
  while (next < run.cases) {
    const { results, stoppedAt, why } = await runChild(run, next);
    for (const r of results) {
      counts[r.status!] = (counts[r.status!] ?? 0) + 1;
      if (r.status === 'internal') failures.push(`seed ${run.seed} case ${r.i}: ${r.description}\n  ${r.detail}`);
    }
    if (stoppedAt === undefined) break;
    failures.push(`seed ${run.seed} case ${stoppedAt}: ${why}`);
    next = stoppedAt + 1;
  }
  return { failures, counts };
}

/** Runs cases [start, end) in one child; resolves with the results and where the child stopped. */
function runChild(run: FuzzRun, start: number): Promise<{ results: CaseResult[]; stoppedAt?: number; why?: string }> {
  const CASE_MS = run.caseMs;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', WORKER, String(run.seed), String(start), String(run.cases - start)], {
      cwd: REPO_ROOT,
      env: { ...process.env, KILN_MAX_MEMORY: BUDGET, KILN_CONFORMANCE_DIR: conformanceDir(), ...run.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results: CaseResult[] = [];
    let current: number | undefined;
    let buffered = '', stderr = '', timedOut = false;
    // starting the child (tsx, imports) is not a case: it gets its own generous limit
    let timer = setTimeout(onTimeout, Math.max(CASE_MS, 120_000));
    function onTimeout() { timedOut = true; child.kill('SIGKILL'); }
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const r = JSON.parse(line) as CaseResult;
        clearTimeout(timer);
        timer = setTimeout(onTimeout, CASE_MS);
        if (r.status === undefined) current = r.i;
        else { results.push(r); current = undefined; }
      }
    });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (current === undefined && code === 0) resolve({ results });
      else {
        const why = timedOut ? `ran past ${CASE_MS / 1000} s (hang)` : `child died (exit ${code}, signal ${signal}; memory?)\n${stderr}`;
        resolve({ results, stoppedAt: current ?? start + results.length, why });
      }
    });
  });
}

test(`fuzz: ${CASES} mutants (seed ${SEED}) never crash, hang or blow up memory`, async () => {
  const { failures, counts } = await fuzz({ seed: SEED, cases: CASES, caseMs: CASE_MS });
  console.log(`  fuzz seed ${SEED}: ${CASES} mutants: ${counts.ok ?? 0} ran to the end, ${counts.kiln ?? 0} refused with a KilnError`);
  assert.equal(failures, [], `fuzz failures (rerun: node --import tsx test/fuzz/fuzz-worker.ts ${SEED} CASE 1):\n${failures.join('\n')}`);
  // the harness really ran: every case reported, and some mutants got through to a reference run
  assert.is((counts.ok ?? 0) + (counts.kiln ?? 0), CASES);
  assert.ok((counts.ok ?? 0) > 0 && (counts.kiln ?? 0) > 0, `statuses ${JSON.stringify(counts)}`);
});

test('fuzz harness reports an injected internal error, hang and crash, and goes on after each', async () => {
  // KILN_FUZZ_INJECT makes the worker misbehave at chosen cases (test/fuzz/fuzz-worker.ts)
  const { failures, counts } = await fuzz({ seed: SEED, cases: 8, caseMs: 5000, env: { KILN_FUZZ_INJECT: 'internal:1,hang:3,crash:5' } });
  assert.is(failures.length, 3, failures.join('\n'));
  assert.match(failures[0], /case 1: .*\n  TypeError: injected/);
  assert.match(failures[1], /case 3: ran past 5 s \(hang\)/);
  assert.match(failures[2], /case 5: child died/);
  assert.is((counts.ok ?? 0) + (counts.kiln ?? 0), 5); // cases 0, 2, 4, 6, 7
});

test.run();
