/**
 * Layer helpers shared by the zoo models: each adds the nodes and seeded weights of one PyTorch
 * module (Conv2d, BatchNorm2d, Linear, ReLU, ReLU6, LayerNorm) the way `torch.onnx.export` writes
 * it, with node names built from the module path (`torchScope`) and weights named by the module's
 * state-dict keys (`layer1.0.conv1.weight`).
 *
 * Weight scales keep activations O(1) through deep stacks: convolutions and linears use a
 * He/Kaiming normal with std = sqrt(gain / fan_in) (gain 2 before a ReLU, 1 otherwise); batch norms
 * get gamma ≈ 1 (times a caller's factor, used to damp residual branches), beta and running mean
 * small, running variance in [0.5, 1.5].
 */
import type { Dim } from '../ir/graph.ts';
import { GraphBuilder, float } from './builder.ts';
import { WeightFactory } from './random.ts';

/** What a model builder threads through its helpers. */
export interface ZooContext {
  readonly b: GraphBuilder;
  readonly w: WeightFactory;
}

/**
 * The ONNX node-name scope of a module path as the PyTorch exporter writes it: each attribute is a
 * segment, and an indexed child of a container is named `container.index`
 * (`layer1.0.conv1` → `/layer1/layer1.0/conv1`, `features.1.conv.0.0` →
 * `/features/features.1/conv/conv.0/conv.0.0`). Containers never called themselves (ModuleList,
 * named in `moduleLists` by their attribute name) get no segment of their own
 * (`encoder.layer.0.attention` with ModuleList `layer` → `/encoder/layer.0/attention`).
 */
export function torchScope(path: string, moduleLists: readonly string[] = []): string {
  if (!path) return '';
  const segments: string[] = [];
  let prev = '';
  for (const part of path.split('.')) {
    const seg = /^\d+$/.test(part) ? `${prev}.${part}` : part;
    prev = seg;
    if (!moduleLists.includes(part)) segments.push(seg);
  }
  return '/' + segments.join('/');
}

/** A 2-D convolution's hyper-parameters. */
export interface ConvSpec {
  cin: number;
  cout: number;
  kernel: number;
  stride?: number;
  /** Symmetric padding; default (kernel - 1) / 2. */
  pad?: number;
  group?: number;
  bias?: boolean;
  /** He gain: std = sqrt(gain / fan_in); default 2. */
  gain?: number;
}

/** nn.Conv2d at module path `path`; returns the output value. */
export function conv2d(c: ZooContext, x: string, path: string, s: ConvSpec): string {
  const { cin, cout, kernel: k } = s;
  const stride = s.stride ?? 1, group = s.group ?? 1, pad = s.pad ?? (k - 1) / 2;
  const fanIn = (cin / group) * k * k;
  const w = c.b.constant(`${path}.weight`, c.w.normal(`${path}.weight`, [cout, cin / group, k, k], Math.sqrt((s.gain ?? 2) / fanIn)));
  const inputs = [x, w];
  if (s.bias) {
    const bound = 1 / Math.sqrt(fanIn);
    inputs.push(c.b.constant(`${path}.bias`, c.w.uniform(`${path}.bias`, [cout], -bound, bound)));
  }
  return c.b.op('Conv', inputs, {
    dilations: [1, 1], group, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride],
  }, { name: c.b.nodeName(torchScope(path), 'Conv') });
}

/** nn.BatchNorm2d (inference form) at `path`; `gamma` scales the drawn weights. */
export function batchNorm(c: ZooContext, x: string, path: string, channels: number, gamma = 1): string {
  const weight = c.w.uniform(`${path}.weight`, [channels], 0.8 * gamma, 1.2 * gamma);
  const inputs = [
    c.b.constant(`${path}.weight`, weight),
    c.b.constant(`${path}.bias`, c.w.normal(`${path}.bias`, [channels], 0.1)),
    c.b.constant(`${path}.running_mean`, c.w.normal(`${path}.running_mean`, [channels], 0.1)),
    c.b.constant(`${path}.running_var`, c.w.uniform(`${path}.running_var`, [channels], 0.5, 1.5)),
  ];
  return c.b.op('BatchNormalization', [x, ...inputs], { epsilon: float(1e-5), momentum: float(0.9) },
    { name: c.b.nodeName(torchScope(path), 'BatchNormalization') });
}

/** nn.Linear at `path` exported as Gemm(x, W, b) with transB=1 (W is [out, in]). */
export function linearGemm(c: ZooContext, x: string, path: string, fin: number, fout: number, gain = 1,
  outputs?: readonly string[]): string {
  const bound = 1 / Math.sqrt(fin);
  const w = c.b.constant(`${path}.weight`, c.w.normal(`${path}.weight`, [fout, fin], Math.sqrt(gain / fin)));
  const bias = c.b.constant(`${path}.bias`, c.w.uniform(`${path}.bias`, [fout], -bound, bound));
  return c.b.op('Gemm', [x, w, bias], { alpha: float(1), beta: float(1), transB: 1 },
    { name: c.b.nodeName(torchScope(path), 'Gemm'), outputs });
}

/** nn.Linear at `path` exported as MatMul(x, W^T) + Add(bias), the form used for rank-3 inputs. */
export function linearMatMul(c: ZooContext, x: string, path: string, fin: number, fout: number, scope: string,
  gain = 1): string {
  const w = c.b.constant(`${path}.weight`, c.w.normal(`${path}.weight`, [fin, fout], Math.sqrt(gain / fin)));
  const bias = c.b.constant(`${path}.bias`, c.w.normal(`${path}.bias`, [fout], 0.02));
  const y = c.b.op('MatMul', [x, w], {}, { name: c.b.nodeName(scope, 'MatMul') });
  return c.b.op('Add', [y, bias], {}, { name: c.b.nodeName(scope, 'Add') });
}

/** A ReLU node in `scope`. */
export function relu(c: ZooContext, x: string, scope: string): string {
  return c.b.op('Relu', [x], {}, { name: c.b.nodeName(scope, 'Relu') });
}

/** ReLU6 as Clip(x, 0, 6) with scalar min/max constants (shared by every Clip of the model). */
export function relu6(c: ZooContext, x: string, scope: string): string {
  return c.b.op('Clip', [x, scalarOnce(c, 'relu6.min', 0), scalarOnce(c, 'relu6.max', 6)], {},
    { name: c.b.nodeName(scope, 'Clip') });
}

const scalarNames = new WeakMap<GraphBuilder, Set<string>>();

/** A scalar f32 constant added once per builder under `name`. */
export function scalarOnce(c: ZooContext, name: string, value: number): string {
  let set = scalarNames.get(c.b);
  if (!set) scalarNames.set(c.b, (set = new Set()));
  if (!set.has(name)) {
    c.b.scalar(name, value);
    set.add(name);
  }
  return name;
}

/** A constant named like an exported Constant node of `scope` (`/scope/Constant_2_output_0`). */
export function scopedScalar(c: ZooContext, scope: string, value: number): string {
  return c.b.scalar(`${c.b.nodeName(scope, 'Constant')}_output_0`, value);
}

/** An i64 1-D constant named like an exported Constant node of `scope`. */
export function scopedInts(c: ZooContext, scope: string, values: readonly number[]): string {
  return c.b.int64s(`${c.b.nodeName(scope, 'Constant')}_output_0`, values);
}

/** GlobalAveragePool → Flatten(axis 1), as exported for adaptive_avg_pool2d(1) + torch.flatten. */
export function poolFlatten(c: ZooContext, x: string, poolScope: string): string {
  const p = c.b.op('GlobalAveragePool', [x], {}, { name: c.b.nodeName(poolScope, 'GlobalAveragePool') });
  return c.b.op('Flatten', [p], { axis: 1 }, { name: c.b.nodeName('', 'Flatten') });
}

/** Options every zoo model accepts. */
export interface ZooOptions {
  /** Seed of the random weights (default 0). */
  seed?: number;
  /** Batch dim of the inputs: a size or a symbol such as 'N' (default 1). */
  batch?: Dim;
  /** Run type inference when building (default true); false leaves placeholder types. */
  inferTypes?: boolean;
}

/** Context for a new model. */
export function newContext(opts: ZooOptions): ZooContext {
  return { b: new GraphBuilder(), w: new WeightFactory(opts.seed ?? 0) };
}
