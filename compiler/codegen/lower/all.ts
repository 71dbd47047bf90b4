/**
 * The explicit list of lowerings, one op family per file. Importing this module registers every
 * lowering once (a duplicate op name throws). To lower a new op, write it in its family's file and
 * add it here.
 */
import { registerLowerings, type Lowering } from './context.ts';
import { ELEMENTWISE_LOWERED, lowerElementwise, lowerFused } from './elementwise.ts';
import { lowerCast } from './cast.ts';
import { lowerArgReduce, lowerReduce } from './reduce.ts';
import { lowerSoftmax } from './softmax.ts';
import { lowerGemm, lowerMatMul } from './matmul.ts';
import { lowerConv } from './conv.ts';
import { lowerConvNhwc } from './conv-nhwc.ts';
import { lowerGlobalPool, lowerPool } from './pool.ts';
import { lowerConvTranspose } from './conv-transpose.ts';
import { lowerEinsum } from './einsum.ts';
import { lowerResize } from './resize.ts';
import { lowerTopK } from './topk.ts';
import { lowerInstanceNorm } from './instance-norm.ts';
import { lowerBatchNorm, lowerLayerNorm } from './norm.ts';
import { lowerConstantOfShape, lowerRange, lowerShape } from './generate.ts';
import {
  lowerConcat, lowerGather, lowerGatherElements, lowerPad, lowerSlice, lowerSplit, lowerTile, lowerTranspose, lowerTrilu, lowerView,
} from './movement.ts';

const entries: Record<string, Lowering> = {};
for (const op of ELEMENTWISE_LOWERED) entries[op] = lowerElementwise;
entries['kiln.fused'] = lowerFused;
// Cast/CastLike: narrow dtypes (bf16, float8, float4, sub-byte ints) in cast.ts, the rest elementwise
entries.Cast = lowerCast;
entries.CastLike = lowerCast;
for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum']) entries[op] = lowerReduce;
entries.ArgMax = lowerArgReduce;
entries.ArgMin = lowerArgReduce;
entries.Softmax = lowerSoftmax;
entries.LogSoftmax = lowerSoftmax;
entries.MatMul = lowerMatMul;
entries['kiln.matmul'] = lowerMatMul;
entries.Einsum = lowerEinsum;
entries.Gemm = lowerGemm;
entries['kiln.gemm'] = lowerGemm;
entries.Conv = lowerConv;
entries['kiln.conv'] = lowerConv;
entries['kiln.conv_nhwc'] = lowerConvNhwc;
entries['kiln.conv_epilogue_nhwc'] = lowerConvNhwc;
entries.ConvTranspose = lowerConvTranspose;
entries.MaxPool = lowerPool;
entries.AveragePool = lowerPool;
entries['kiln.maxpool_nhwc'] = lowerPool;
entries['kiln.averagepool_nhwc'] = lowerPool;
entries.GlobalAveragePool = lowerGlobalPool;
entries.GlobalMaxPool = lowerGlobalPool;
entries['kiln.globalaveragepool_nhwc'] = lowerGlobalPool;
entries['kiln.globalmaxpool_nhwc'] = lowerGlobalPool;
entries.LayerNormalization = lowerLayerNorm;
entries.BatchNormalization = lowerBatchNorm;
entries.InstanceNormalization = lowerInstanceNorm;
entries.Shape = lowerShape;
entries.Size = lowerShape;
entries.ConstantOfShape = lowerConstantOfShape;
entries.Range = lowerRange;
entries.Resize = lowerResize;
entries.Split = lowerSplit;
entries.TopK = lowerTopK;
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
