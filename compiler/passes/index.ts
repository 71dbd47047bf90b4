/**
 * The pass layer's public surface: the pass interface and registry, pipeline text, the PassManager
 * with its instruments and the numeric check, and (through all.ts) every registered pass with the
 * default pipeline of each target.
 */
export * from './pass.ts';
export * from './pipeline.ts';
export * from './instruments.ts';
export * from './numeric-check.ts';
export { PassManager, lookupPass, type PassManagerOptions } from './manager.ts';
export { ALL_PASSES, TARGETS, type Target, defaultPipeline, isTarget } from './all.ts';
