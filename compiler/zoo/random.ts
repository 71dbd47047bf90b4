/**
 * Deterministic random weights for the model zoo.
 *
 * Every weight tensor gets its own stream, seeded from (model seed, weight name) through a string
 * hash, so a weight's values do not depend on the order in which a model builder creates its
 * tensors and two seeds give unrelated models. The generator is SplitMix32 (a 32-bit counter run
 * through a murmur-style finaliser, all integer math via Math.imul, so it is bit-identical on every
 * platform); normals come from the Box–Muller transform, two per pair of uniforms.
 */
import { Tensor, shapeSize } from '../ir/tensor.ts';

/** FNV-1a hash of a string to 32 bits. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A SplitMix32 generator with uniform and normal draws. */
export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator for weight `name` of a model built with `seed`. */
  static forName(seed: number, name: string): Rng {
    return new Rng(hashString(name) ^ Math.imul(seed + 1, 0x9e3779b9));
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u1 = (this.nextU32() + 1) / 4294967297; // in (0, 1]: log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo));
  }
}

/** Draws weight tensors for one model; each tensor is keyed by its name. */
export class WeightFactory {
  constructor(readonly seed: number) {}

  /** f32 tensor with elements ~ N(mean, std^2). */
  normal(name: string, shape: readonly number[], std: number, mean = 0): Tensor {
    const rng = Rng.forName(this.seed, name);
    const data = new Float32Array(shapeSize(shape));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
    return new Tensor('f32', shape, data);
  }

  /** f32 tensor with elements ~ U[lo, hi). */
  uniform(name: string, shape: readonly number[], lo: number, hi: number): Tensor {
    const rng = Rng.forName(this.seed, name);
    const data = new Float32Array(shapeSize(shape));
    for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng.uniform();
    return new Tensor('f32', shape, data);
  }
}
