/** Op family 'binary': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const binaryOps: OpDef<any>[] = [];
