/** Op family 'cast': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const castOps: OpDef<any>[] = [];
