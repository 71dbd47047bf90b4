/**
 * The model zoo registry: built-in models written in code with seeded random weights, so kiln can
 * be demonstrated and tested without downloading anything. Models are referred to as `zoo:NAME`
 * wherever a model path is accepted (see compiler/load.ts).
 */
import type { Graph } from '../ir/graph.ts';
import { KilnError } from '../errors.ts';
import type { ZooOptions } from './layers.ts';
import { resnet50 } from './resnet.ts';
import { mobilenetv2 } from './mobilenet.ts';
import { bert } from './bert.ts';
import { mlp } from './mlp.ts';
import { decoder } from './decoder.ts';

export type { ZooOptions } from './layers.ts';

/** One zoo entry. */
interface ZooEntry {
  readonly description: string;
  readonly build: (opts: ZooOptions) => Graph;
  /** The model has regions (If, Loop, Scan): its control runs on the host, not in compiled kernels. */
  readonly controlFlow?: true;
}

/** Which zoo models `zooNames` lists. */
export interface ZooFilter {
  /**
   * true: only the models with control flow (regions); false: only those without, the ones every
   * compiled backend lowers whole with static shapes (what the backend and codegen suites loop over).
   * Default: all.
   */
  readonly controlFlow?: boolean;
}

const ZOO: Readonly<Record<string, ZooEntry>> = {
  resnet50: { description: 'torchvision ResNet-50, f32[1,3,224,224] → f32[1,1000], BN unfused', build: resnet50 },
  mobilenetv2: { description: 'torchvision MobileNetV2, f32[1,3,224,224] → f32[1,1000], ReLU6 as Clip', build: mobilenetv2 },
  bert: { description: 'BERT encoder, 4 layers, hidden 256, seq 128, LayerNormalization', build: (o) => bert(o) },
  'bert-decomposed': { description: 'the same BERT with LayerNorm written as primitive ops', build: (o) => bert({ ...o, decomposed: true }) },
  mlp: { description: 'MLP 784 → 512 → 256 → 10', build: mlp },
  decoder: { description: 'greedy GRU decoder: If on the prompt length, Scan prefill, Loop to EOS', build: decoder, controlFlow: true },
};

const PREFIX = 'zoo:';

/** Names of the zoo models (all, or those `filter` selects), in a fixed order. */
export function zooNames(filter: ZooFilter = {}): string[] {
  const keep = filter.controlFlow;
  return Object.keys(ZOO).filter((n) => keep === undefined || !!ZOO[n].controlFlow === keep);
}

/** One-line description of a zoo model. */
export function zooDescription(name: string): string {
  return entry(name).description;
}

/** Builds zoo model `name` (a bare name or `zoo:NAME`); the same seed always gives the same weights. */
export function zooModel(name: string, opts: ZooOptions = {}): Graph {
  return entry(name).build(opts);
}

/** True if `ref` names a zoo model (`zoo:NAME`; the name itself is checked by zooModel). */
export function isZooRef(ref: string): boolean {
  return ref.startsWith(PREFIX);
}

function entry(name: string): ZooEntry {
  const bare = isZooRef(name) ? name.slice(PREFIX.length) : name;
  const e = Object.prototype.hasOwnProperty.call(ZOO, bare) ? ZOO[bare] : undefined;
  if (!e) throw new KilnError(`unknown zoo model '${bare}'; available: ${zooNames().join(', ')}`);
  return e;
}
