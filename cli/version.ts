/** kiln's version: the `version` field of package.json (`kiln --version`, the Jupyter kernel's info). */
import { readFileSync } from 'node:fs';

/** The package version, e.g. '0.1.0'; '0.0.0' when package.json cannot be read. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
