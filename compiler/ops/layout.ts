/** Op family 'layout': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const layoutOps: OpDef<any>[] = [];
