/**
 * `kiln passes [--json]`: every registered pass with its summary, options (type, default, help) and
 * statistics, then the default pipeline of each target. `--json` prints the same as one JSON object
 * `{passes: [...], defaultPipelines: {target: text}}`.
 */
import { parseCommand } from '../args.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';
import { allPasses } from '../../compiler/passes/pass.ts';
import { printOptionValue } from '../../compiler/passes/pipeline.ts';

export async function passesCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, { json: { type: 'boolean', default: false } }, [0, 0]);
  const passes = allPasses();
  const pipelines = Object.fromEntries(TARGETS.map((t) => [t, defaultPipeline(t)]));
  if (values.json) {
    console.log(JSON.stringify({
      passes: passes.map((p) => ({
        name: p.name, summary: p.summary, description: p.description,
        options: p.options.map((o) => ({ name: o.name, type: o.type, default: o.default, help: o.help })),
        statistics: p.statistics.map((s) => ({ name: s.name, help: s.help })),
      })),
      defaultPipelines: pipelines,
    }));
    return 0;
  }
  const lines: string[] = ['passes:'];
  const width = Math.max(0, ...passes.map((p) => p.name.length));
  for (const p of passes) {
    lines.push(`  ${p.name.padEnd(width)}  ${p.summary}`);
    const indent = ' '.repeat(width + 6);
    for (const o of p.options) lines.push(`${indent}option ${o.name}=${printOptionValue(o.default)} (${o.type}) — ${o.help}`);
    for (const s of p.statistics) lines.push(`${indent}stat ${s.name} — ${s.help}`);
  }
  lines.push('', 'default pipelines (kiln opt MODEL --target T):');
  for (const t of TARGETS) lines.push(`  ${t.padEnd(7)} ${pipelines[t] || '(empty)'}`);
  lines.push('', 'pipeline syntax: pass,pass{option=value,list=[a,b]},...');
  console.log(lines.join('\n'));
  return 0;
}
