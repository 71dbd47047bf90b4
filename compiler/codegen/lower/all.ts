/**
 * The explicit list of lowerings, one op family per file. Importing this module registers every
 * lowering once (a duplicate op name throws). To lower a new op, write it in its family's file and
 * add it here.
 */
import { registerLowerings, type Lowering } from './context.ts';
import { ELEMENTWISE_LOWERED, lowerElementwise, lowerFused } from './elementwise.ts';
import { lowerArgReduce, lowerReduce } from './reduce.ts';
import { lowerSoftmax } from './softmax.ts';
import { lowerGemm, lowerMatMul } from './matmul.ts';
import { lowerConv } from './conv.ts';
import { lowerGlobalPool, lowerPool } from './pool.ts';
import { lowerBatchNorm, lowerLayerNorm } from './norm.ts';
import { lowerConstantOfShape, lowerRange, lowerShape } from './generate.ts';
import {
  lowerConcat, lowerGather, lowerGatherElements, lowerPad, lowerSlice, lowerSplit, lowerTile, lowerTranspose, lowerTrilu, lowerView,
} from './movement.ts';

const entries: Record<string, Lowering> = {};
for (const op of ELEMENTWISE_LOWERED) entries[op] = lowerElementwise;
entries['kiln.fused'] = lowerFused;
for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum']) entries[op] = lowerReduce;
entries.ArgMax = lowerArgReduce;
entries.ArgMin = lowerArgReduce;
entries.Softmax = lowerSoftmax;
entries.LogSoftmax = lowerSoftmax;
entries.MatMul = lowerMatMul;
entries['kiln.matmul'] = lowerMatMul;
entries.Gemm = lowerGemm;
entries['kiln.gemm'] = lowerGemm;
entries.Conv = lowerConv;
entries['kiln.conv'] = lowerConv;
entries.MaxPool = lowerPool;
entries.AveragePool = lowerPool;
entries.GlobalAveragePool = lowerGlobalPool;
entries.GlobalMaxPool = lowerGlobalPool;
entries.LayerNormalization = lowerLayerNorm;
entries.BatchNormalization = lowerBatchNorm;
entries.Shape = lowerShape;
entries.Size = lowerShape;
entries.ConstantOfShape = lowerConstantOfShape;
entries.Range = lowerRange;
entries.Split = lowerSplit;
entries.Tile = lowerTile;
entries.Pad = lowerPad;
entries.Trilu = lowerTrilu;
entries.GatherElements = lowerGatherElements;
entries.Transpose = lowerTranspose;
entries.Concat = lowerConcat;
entries.Slice = lowerSlice;
entries.Gather = lowerGather;
for (const op of ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']) entries[op] = lowerView;

registerLowerings(entries);
