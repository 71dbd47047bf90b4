/** Op family 'unary': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const unaryOps: OpDef<any>[] = [];
