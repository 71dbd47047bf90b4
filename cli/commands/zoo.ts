/** `kiln zoo list` and `kiln zoo export NAME FILE.onnx` (the file is written atomically). */
import { SEED, UsageError, choiceOption, numberOption, parseCommand } from '../args.ts';
import { zooDescription, zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { summarizeGraph } from '../../compiler/zoo/summary.ts';
import { writeFileAtomic } from '../../compiler/files.ts';

export async function zooCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { seed: { type: 'string' } }, [1, 3], ['list or export']);
  const [verb, name, file] = positionals;
  if (verb === 'list') {
    if (positionals.length !== 1) throw new UsageError('zoo list takes no arguments');
    for (const n of zooNames()) console.log(`zoo:${n.padEnd(16)} ${zooDescription(n)}`);
    return 0;
  }
  choiceOption(verb, 'zoo command', ['list', 'export'], 'list');
  if (!name || !file) throw new UsageError('zoo export needs NAME and FILE.onnx');
  const seed = numberOption(values.seed, 'seed', 0, SEED);
  const graph = zooModel(name.replace(/^zoo:/, ''), { seed });
  const bytes = exportOnnx(graph);
  writeFileAtomic(file, bytes, { what: 'ONNX file' });
  const s = summarizeGraph(graph);
  console.log(`wrote ${file} (${(bytes.length / 1e6).toFixed(1)} MB, ${graph.nodes.length} nodes, ${s.params.toLocaleString('en-US')} parameters)`);
  return 0;
}
