/** Op family 'softmax': placeholder until its ops land (see all.ts). */
import type { OpDef } from './registry.ts';

export const softmaxOps: OpDef<any>[] = [];
