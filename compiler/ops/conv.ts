/** Op family 'conv': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const convOps: OpDef<any>[] = [];
