/** Op family 'shape': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const shapeOps: OpDef<any>[] = [];
