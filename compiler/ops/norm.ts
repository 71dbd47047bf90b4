/** Op family 'norm': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const normOps: OpDef<any>[] = [];
