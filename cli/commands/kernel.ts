/**
 * `kiln kernel`: the Jupyter kernel. `kiln kernel install [--user | --prefix DIR] [--name NAME]` writes
 * the kernelspec (kernel/install.ts; the user's Jupyter data folder by default); `kiln kernel -f
 * CONNECTION_FILE` runs the kernel on that connection file until it is shut down (kernel/server.ts),
 * then exits 0.
 */
import { parseCommand, UsageError } from '../args.ts';
import { packageVersion } from '../../compiler/version.ts';

export async function kernelCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'install') {
    const { values } = parseCommand(argv.slice(1), {
      user: { type: 'boolean', default: false },
      prefix: { type: 'string' },
      name: { type: 'string', default: 'kiln' },
    }, [0, 0]);
    if (values.user && values.prefix !== undefined) throw new UsageError('--user and --prefix exclude each other');
    const { installKernelSpec } = await import('../../kernel/install.ts');
    // file-system problems are KilnErrors naming the path: `error: ...`, exit 1
    const dir = installKernelSpec({ user: values.user, prefix: values.prefix, name: values.name });
    console.log(`installed kernelspec '${values.name}' in ${dir}`);
    return 0;
  }
  const { values } = parseCommand(argv, { 'connection-file': { type: 'string', short: 'f' } }, [0, 0]);
  const file = values['connection-file'];
  if (!file) throw new UsageError('missing -f CONNECTION_FILE (or use `kiln kernel install`)');
  const { KernelServer, readConnectionFile } = await import('../../kernel/server.ts');
  let info;
  try {
    info = readConnectionFile(file);
  } catch (e) {
    console.error(`error: cannot read connection file ${file}: ${(e as Error).message}`);
    return 1;
  }
  const server = await KernelServer.start(info, { processHooks: true, version: packageVersion() });
  await server.closed;
  // Everything is closed; if some user code left a handle open, do not linger as an orphan.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
