/**
 * Passes: pure functions Graph -> Graph, registered by name with a summary, options (with defaults
 * and help) and named statistics, as MLIR and TVM declare theirs.
 *
 * A pass never prints, times or verifies itself: instruments in the PassManager do that. It reports
 * through its context: statistics counters (`ctx.stats.add('folded')`) and fusion decisions
 * (`ctx.decide(...)`, kept for the fusion table). A pass that changes nothing returns the very same
 * Graph object, which is how the manager knows a step changed nothing.
 */
import type { Graph } from '../ir/graph.ts';

/** The value of one pass option. */
export type OptionValue = number | boolean | string | readonly string[];

/** Declares one option of a pass. */
export interface PassOptionSpec {
  readonly name: string;
  readonly type: 'int' | 'float' | 'bool' | 'string' | 'strings';
  readonly default: OptionValue;
  readonly help: string;
}

/** Declares one statistic counter of a pass. */
export interface PassStatisticSpec {
  readonly name: string;
  readonly help: string;
}

/**
 * A fusion (or other rewrite) decision, recorded for the decisions table: fused, or rejected and why;
 * for control flow (simplify-control-flow) an If inlined, a Loop unrolled, or either kept and why.
 */
export interface Decision {
  /** The pass that decided. */
  readonly pass: string;
  readonly kind: 'fused' | 'rejected' | 'inlined' | 'unrolled' | 'kept';
  /** Node ids involved (the anchor first). */
  readonly nodes: readonly string[];
  /** The ONNX node names involved (provenance of those nodes). */
  readonly loc: readonly string[];
  /** Why (for rejections), or what was formed (for fusions), in a few words. */
  readonly reason: string;
  /** Id of the node the fusion produced, when fused. */
  readonly result?: string;
}

/** Counters a pass bumps while it runs. */
export class Statistics {
  private readonly counts = new Map<string, number>();
  constructor(declared: readonly PassStatisticSpec[] = []) {
    for (const s of declared) this.counts.set(s.name, 0);
  }
  /** Adds n (default 1) to a declared counter; an undeclared name throws (a pass bug). */
  add(name: string, n = 1): void {
    const c = this.counts.get(name);
    if (c === undefined) throw new Error(`statistic '${name}' is not declared by this pass`);
    this.counts.set(name, c + n);
  }
  /** Current value of a counter. */
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  /** All counters as a plain object. */
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** What a pass sees besides the graph. */
export interface PassContext {
  /** The pass's options, defaults filled in and types checked. */
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly stats: Statistics;
  /** Records a fusion decision. */
  decide(d: Omit<Decision, 'pass'>): void;
  /** The compilation target the pipeline is for (`cpu`, `cuda`, `webgpu`, or `ref`). */
  readonly target: string;
}

/** A registered pass. */
export interface Pass {
  /** Registry name, used in pipeline strings (`fold-conv-bn`). */
  readonly name: string;
  /** One line for `kiln passes`. */
  readonly summary: string;
  /** Longer text: what it matches, what it rewrites, what it leaves alone. */
  readonly description?: string;
  readonly options: readonly PassOptionSpec[];
  readonly statistics: readonly PassStatisticSpec[];
  /** The transformation: pure, returns the input object itself when nothing changes. */
  run(graph: Graph, ctx: PassContext): Graph;
}

const passes = new Map<string, Pass>();

/** Registers passes; a duplicate name throws. */
export function registerPasses(list: readonly Pass[]): void {
  for (const p of list) {
    if (passes.has(p.name)) throw new Error(`pass '${p.name}' is already registered`);
    passes.set(p.name, p);
  }
}

/** The pass named `name`, or undefined. */
export function findPass(name: string): Pass | undefined {
  return passes.get(name);
}

/** All registered passes, sorted by name. */
export function allPasses(): Pass[] {
  return [...passes.values()].sort((a, b) => a.name.localeCompare(b.name));
}
