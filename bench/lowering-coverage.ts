/**
 * Lowering coverage of the conformance suite (a measurement, not a test): for every case folder,
 * import the model, bind it to its first data set (bindInputs: sizes, and the values of shape
 * arguments) and lower it to kernel IR (no C compile), then tally the unsupported reasons by op. Usage:
 *   node --import tsx bench/lowering-coverage.ts ../shared/onnx-conformance/node [--cases] [--filter RE]
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadOnnxFile } from '../compiler/import/onnx/import.ts';
import { bindInputs } from '../compiler/runtime/inputs.ts';
import { lowerGraph } from '../compiler/codegen/lower/index.ts';

const dir = process.argv[2] ?? '../shared/onnx-conformance/node';
const listCases = process.argv.includes('--cases');
const fi = process.argv.indexOf('--filter');
const filter = fi > 0 ? new RegExp(process.argv[fi + 1]) : undefined;
const cases = fs.readdirSync(dir).sort().filter((d) => fs.existsSync(path.join(dir, d, 'model.onnx')) && (!filter || filter.test(d)));
let lowered = 0;
const byOp = new Map<string, { cases: Set<string>; reasons: Map<string, number> }>();
const note = (op: string, reason: string, c: string) => {
  let e = byOp.get(op);
  if (!e) byOp.set(op, (e = { cases: new Set(), reasons: new Map() }));
  e.cases.add(c);
  const r = reason.replace(/'[^']*'/g, "'…'").slice(0, 120);
  e.reasons.set(r, (e.reasons.get(r) ?? 0) + 1);
};
for (const c of cases) {
  const cd = path.join(dir, c);
  try {
    const g = loadOnnxFile(path.join(cd, 'model.onnx'));
    const set = fs.readdirSync(cd).filter((d) => d.startsWith('test_data_set_')).sort()[0];
    const { graph } = bindInputs(g, { dir: path.join(cd, set) });
    const { unsupported } = lowerGraph(graph);
    if (!unsupported.length) { lowered++; continue; }
    for (const u of unsupported) note(u.op ?? '(graph)', u.reason, c);
    if (listCases) console.log(`${c}: ${unsupported.map((u) => `${u.op}: ${u.reason}`).join(' | ')}`);
  } catch (e) {
    note('(error)', (e as Error).message.split('\n')[0], c);
    if (listCases) console.log(`${c}: ERROR ${(e as Error).message.split('\n')[0]}`);
  }
}
console.log(`${lowered}/${cases.length} cases lower completely (${(100 * lowered / cases.length).toFixed(1)}%)`);
for (const [op, e] of [...byOp].sort((a, b) => b[1].cases.size - a[1].cases.size)) {
  console.log(`${String(e.cases.size).padStart(4)}  ${op}`);
  for (const [r, k] of [...e.reasons].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`        ${k}× ${r}`);
}
