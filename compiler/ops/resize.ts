/** Op family 'resize': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const resizeOps: OpDef<any>[] = [];
