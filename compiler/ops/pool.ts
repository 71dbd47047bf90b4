/** Op family 'pool': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const poolOps: OpDef<any>[] = [];
