// Prints the lowered kernel IR of a .kir graph file (a helper for writing golden tests).
import fs from 'node:fs';
import { parseGraph } from '../compiler/ir/parse.ts';
import { lowerGraph } from '../compiler/codegen/lower/index.ts';
import { printProgram } from '../compiler/codegen/print.ts';
import { renderProgram } from '../compiler/codegen/render.ts';
import { C } from '../compiler/codegen/lang/c.ts';
const { program, unsupported } = lowerGraph(parseGraph(fs.readFileSync(process.argv[2], 'utf8')));
console.log(printProgram(program));
for (const u of unsupported) console.log(`UNSUPPORTED %${u.node} ${u.op}: ${u.reason}`);
if (process.argv.includes('--c')) console.log(renderProgram(C, program));
