/**
 * Memory planning: execution order, liveness, arena placement and validation of the plan
 * (see each module's header). `planMemory(graph, {planner, order, inplace, alignment, dims, scratchBytes})` is the
 * entry point; `validatePlan` checks any plan independently.
 */
export type { MemoryPlan, PlannedTensor, PlannedExternal, PlannedScratch, PlannedLayout, PlanRegion, Planner, PlanOptions } from './plan.ts';
export { planMemory, getPlanner, plannerNames, allPlanners, analyzeMemory, DEFAULT_ALIGNMENT, type PlanMemoryOptions } from './planners.ts';
export { validatePlan, assertValidPlan, type ValidateOptions } from './validate.ts';
export { naturalAlignment, requiredAlignment } from './contract.ts';
export { graphOrder, memoryOrder, type OrderKind } from './order.ts';
