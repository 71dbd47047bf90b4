/**
 * Deterministic random weights for the model zoo.
 *
 * Every weight tensor gets its own stream, seeded from (model seed, weight name) through a string
 * hash, so a weight's values do not depend on the order in which a model builder creates its
 * tensors and two seeds give unrelated models. The generator is SplitMix32 (a 32-bit counter run
 * through a murmur-style finaliser, all integer math via Math.imul, so it is bit-identical on every
 * platform); normals come from Marsaglia's polar method (two normals per accepted pair of uniforms in
the unit disc; no trigonometry, so a ResNet-50's 25 M weights take well under a second).
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
    this.state = seed | 0;
  }

  /** The generator for weight `name` of a model built with `seed`. */
  static forName(seed: number, name: string): Rng {
    return new Rng(hashString(name) ^ Math.imul(seed + 1, 0x9e3779b9));
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal (polar method; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let x: number, y: number, s: number;
    do {
      x = this.nextU32() / 2147483648 - 1;
      y = this.nextU32() / 2147483648 - 1;
      s = x * x + y * y;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = y * f;
    return x * f;
  }

  /**
   * Fills `out` with mean + std * N(0,1) draws: the same sequence as repeated `normal()` calls, with
   * the generator inlined over a local state (about twice as fast).
   */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    let i = 0;
    if (this.spare !== undefined && out.length > 0) out[i++] = mean + std * this.normal();
    let state = this.state;
    const next = () => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return ((z ^ (z >>> 16)) >>> 0) / 2147483648 - 1;
    };
    for (; i + 1 < out.length; i += 2) {
      let x: number, y: number, s: number;
      do {
        x = next();
        y = next();
        s = x * x + y * y;
      } while (s >= 1 || s === 0);
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      out[i] = mean + std * x * f;
      out[i + 1] = mean + std * y * f;
    }
    this.state = state;
    if (i < out.length) out[i] = mean + std * this.normal();
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
    rng.fillNormal(data, mean, std);
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
