/** Op family 'gather': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const gatherOps: OpDef<any>[] = [];
