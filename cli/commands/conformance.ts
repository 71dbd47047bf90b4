/**
 * `kiln conformance DIR [--backend ref] [--filter REGEX] [--rtol 1e-3] [--atol 1e-5]`
 *
 * Runs the ONNX node-test cases under DIR (folders with model.onnx and test_data_set_*) on a backend
 * and compares with the expected outputs. Prints one line per failing or skipped case with its
 * reason, then `N passed, N failed, N skipped`. Exit status: 0 when nothing failed, 1 when any case
 * failed, 2 (with the usage text) for bad arguments.
 */
import { parseCommand, numberOption, UsageError } from '../args.ts';
import { CONFORMANCE_BACKENDS, runConformance } from '../../compiler/runtime/conformance.ts';

const USAGE = 'kiln conformance DIR [--backend ref] [--filter REGEX] [--rtol 1e-3] [--atol 1e-5]';

/** Entry point; `argv` are the arguments after `conformance`. */
export async function conformanceCommand(argv: string[]): Promise<number> {
  let dir: string, backend: string, filter: RegExp | undefined, rtol: number, atol: number;
  try {
    const { values, positionals } = parseCommand(argv, {
      backend: { type: 'string', default: 'ref' },
      filter: { type: 'string' },
      rtol: { type: 'string' },
      atol: { type: 'string' },
    }, [1, 1]);
    dir = positionals[0];
    backend = values.backend!;
    if (!CONFORMANCE_BACKENDS[backend]) {
      throw new UsageError(`unknown backend '${backend}' (available: ${Object.keys(CONFORMANCE_BACKENDS).join(', ')})`);
    }
    if (values.filter !== undefined) {
      try {
        filter = new RegExp(values.filter);
      } catch (e) {
        throw new UsageError(`--filter is not a valid regular expression: ${(e as Error).message}`);
      }
    }
    rtol = numberOption(values.rtol, 'rtol', 1e-3);
    atol = numberOption(values.atol, 'atol', 1e-5);
    if (rtol < 0 || atol < 0) throw new UsageError('--rtol and --atol must not be negative');
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`kiln conformance: ${e.message}\nusage: ${USAGE}`);
    return 2;
  }
  const report = runConformance(dir, {
    backend, filter, rtol, atol,
    onCase: (r) => {
      if (r.status === 'pass') return;
      const reason = (r.reason ?? '').replace(/\s*\n\s*/g, '; ');
      console.log(`${r.status === 'fail' ? 'FAIL' : 'SKIP'} ${r.name}: ${reason}`);
    },
  });
  console.log(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  return report.failed > 0 ? 1 : 0;
}
