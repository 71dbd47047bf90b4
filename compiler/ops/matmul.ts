/** Op family 'matmul': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const matmulOps: OpDef<any>[] = [];
