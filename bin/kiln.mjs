#!/usr/bin/env node
// kiln command-line entry: loads the TypeScript sources through tsx and runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
