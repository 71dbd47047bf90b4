/** Op family 'reduce': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const reduceOps: OpDef<any>[] = [];
