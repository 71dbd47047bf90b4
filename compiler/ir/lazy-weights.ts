/**
 * Lazily computed weights for passes that transform large constants (fold-conv-bn scales every conv
 * weight of a network): the new Tensor's data, and the new Constant's content hash, are computed on
 * first read and then kept.
 *
 * Why: multiplying and hashing the ~100 MB of ResNet-50's conv weights costs hundreds of milliseconds,
 * while most pipeline steps never read them (a pass looks at shapes, dtypes and small constants). The
 * work happens once, when someone needs the values (the reference executor, a backend, printing the
 * hash, the verifier's hash check) — the IR stays immutable: a lazy tensor is indistinguishable from
 * an eager one apart from when its data is computed, and its compute function must be pure (read only
 * immutable inputs).
 *
 * A lazy tensor is a real `Tensor` (same prototype, `instanceof Tensor` holds) whose `data` property
 * is a getter that runs the compute function once and then replaces itself by a plain value.
 */
import type { Constant } from './graph.ts';
import type { DType, TensorData } from './dtype.ts';
import { Tensor, shapeSize } from './tensor.ts';
import { hashOf } from './weights.ts';

/** A Tensor of `dtype` and `shape` whose data is `compute()`, run on first access to `data`. */
export function lazyTensor(dtype: DType, shape: readonly number[], compute: () => TensorData): Tensor {
  const t = Object.create(Tensor.prototype) as Tensor;
  const size = shapeSize(shape);
  Object.defineProperty(t, 'dtype', { value: dtype, enumerable: true });
  Object.defineProperty(t, 'shape', { value: [...shape], enumerable: true });
  Object.defineProperty(t, 'size', { value: size, enumerable: true });
  Object.defineProperty(t, 'data', {
    enumerable: true,
    configurable: true,
    get() {
      const data = compute();
      if (data.length !== size) throw new Error(`lazy tensor: computed ${data.length} elements, shape [${shape.join(',')}] needs ${size}`);
      Object.defineProperty(t, 'data', { value: data, enumerable: true, configurable: false, writable: false });
      return data;
    },
  });
  return t;
}

/** True unless `t` is a lazy tensor whose data has not been computed yet. */
export function isMaterialized(t: Tensor): boolean {
  const d = Object.getOwnPropertyDescriptor(t, 'data');
  return !d || d.get === undefined;
}

const derived = new WeakSet<Constant>();

/** A Constant holding `data` whose `hash` is `hashOf(data)`, computed on first read. */
export function lazyConstant(name: string, data: Tensor): Constant {
  let hash: string | undefined;
  const c: Constant = {
    name,
    type: { dtype: data.dtype, shape: [...data.shape] },
    data,
    get hash(): string {
      return (hash ??= hashOf(data));
    },
  };
  derived.add(c);
  return c;
}

/**
 * True for a Constant made by `lazyConstant`, whose hash is by construction the hash of its data: a
 * verifier may skip checking it (the check would compute the weights and hash them only to compare a
 * value with itself).
 */
export function hasDerivedHash(c: Constant): boolean {
  return derived.has(c);
}
