/**
 * Runs every kernel-lowering golden test `test/codegen/*.kir` (format: test/codegen/golden.ts), one
 * uvu test per case named `<file>#<n>`.
 */
import { test } from 'uvu';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenCases, runCodegenCase } from './golden.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
for (const c of goldenCases(dir)) test(c.name, () => runCodegenCase(c));

test.run();
