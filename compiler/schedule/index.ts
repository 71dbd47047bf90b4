/**
 * Memory planning: execution order, liveness, arena placement and validation of the plan
 * (see each module's header). `planMemory(graph, {planner, order, inplace, alignment, dims})` is the
 * entry point; `validatePlan` checks any plan independently.
 */
export type { MemoryPlan, PlannedTensor, Planner, PlanOptions } from './plan.ts';
export { planMemory, getPlanner, plannerNames, allPlanners, analyzeMemory, DEFAULT_ALIGNMENT, type PlanMemoryOptions } from './planners.ts';
export { validatePlan, assertValidPlan } from './validate.ts';
export { graphOrder, memoryOrder, type OrderKind } from './order.ts';
