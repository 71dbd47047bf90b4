/**
 * Runs every golden pass test `test/passes/*.kir` (format: test/passes/README.md), one uvu test per
 * case named `<file>#<n>`: parse the case's graph, run its pipeline with the verifier (and the numeric
 * check when the constants have data), and FileCheck the printed result.
 */
import { test } from 'uvu';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenCases, runGoldenCase } from './golden.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
for (const c of goldenCases(dir)) test(c.name, () => runGoldenCase(c));

test.run();
