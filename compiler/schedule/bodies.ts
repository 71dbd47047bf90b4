/**
 * Region bodies in the memory plan (plan.ts `PlannedBody`): each region a node owns (If's branches,
 * Loop's and Scan's body) is planned on its own, recursively, by the same planner and options, with
 * the values it reads from the enclosing scopes typed by `outer` (they live in the enclosing plan, as
 * a graph's inputs and constants live outside its arena). One run of a body holds its arena peak, its
 * block arguments (its input region: a Loop's carried state, a Scan's slices) and its constants; the
 * bodies of one node run one at a time, so the node needs the largest of them during its step. The
 * enclosing plan takes those bytes as the node's scratch (contract.ts places scratch), so its peak and
 * lower bound include what the bodies hold.
 *
 * A body whose sizes are known only at run time (a Loop body whose carried value grows, a symbol no
 * `dims` binds) has no static plan: it is recorded `unplanned` with the reason and holds 0 planned
 * bytes (the host sizes it when it runs).
 */
import type { Graph, TensorType } from '../ir/graph.ts';
import { regionsOf } from '../ir/graph.ts';
import { KilnError } from '../errors.ts';
import type { GraphFacts } from './facts.ts';
import type { MemoryPlan, PlannedBody, PlanOptions } from './plan.ts';

/** A node's region bodies (without their step) and the bytes its step must hold for them. */
export interface NodeBodies {
  readonly bytes: number;
  readonly bodies: readonly Omit<PlannedBody, 'step'>[];
}

/** Bytes one run of a planned body holds: its arena, its arguments and its constants. */
export function bodyBytes(plan: MemoryPlan): number {
  return plan.peakBytes + plan.inputRegionBytes + plan.constantRegionBytes;
}

/**
 * Plans the region bodies of every node of `facts.graph` that owns regions, with `plan` (the planner's
 * own entry, so bodies get the same strategy); by node index.
 */
export function planBodies(facts: GraphFacts, opts: PlanOptions, plan: (region: Graph, opts: PlanOptions) => MemoryPlan): Map<number, NodeBodies> {
  const out = new Map<number, NodeBodies>();
  let outer: Map<string, TensorType> | undefined;
  facts.graph.nodes.forEach((node, k) => {
    const regions = regionsOf(node);
    if (!regions.length) return;
    outer ??= new Map([...(opts.outer ?? []), ...facts.types]);
    const bodies = regions.map(([attribute, region]): Omit<PlannedBody, 'step'> => {
      try {
        const p = plan(region, { ...opts, outer });
        return { node: facts.ids[k], attribute, bytes: bodyBytes(p), plan: p };
      } catch (e) {
        if (!(e instanceof KilnError)) throw e;
        return { node: facts.ids[k], attribute, bytes: 0, unplanned: `region '@${region.name}': ${e.reason}` };
      }
    });
    out.set(k, { bytes: Math.max(0, ...bodies.map((b) => b.bytes)), bodies });
  });
  return out;
}
