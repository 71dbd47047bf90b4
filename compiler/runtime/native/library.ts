/**
 * Loads a shared object into this process through koffi and binds its functions by C signature.
 *
 * `loadLibrary(path)` opens the object; `lib.func(name, signature)` binds one exported function, given
 * its C type without the name (`'void (int n, float a, const float *x, float *y)'`). koffi passes a
 * typed array or an ArrayBuffer given for a pointer parameter as a pointer to its own memory, with no
 * copy (a typed array view points at its byte offset), and a JS array of typed arrays given for a
 * `float **` parameter as a temporary array of such pointers; so a kernel writes straight into the
 * arena or tensor the caller passed. A pointer must not outlive the call unless the caller keeps the
 * buffer alive. `dispose()` unloads the object (objects built with OpenMP stay mapped: see
 * `c-compiler.ts` on `-z nodelete`); a function bound before is unusable afterwards.
 *
 * Calls are synchronous: the event loop waits while native code runs, as it does for the reference
 * kernels.
 *
 * OpenMP's wait policy: libgomp reads it once, when the first object that uses it is loaded (a
 * program, a tuning candidate or the peak probe), so `loadLibrary` sets the default first. A thread
 * that reaches a barrier spins GOMP_SPINCOUNT times before it sleeps, and after a run the worker
 * threads spin that long before they sleep. Passive waiting (no spin) wakes a sleeping thread at every
 * parallel region: mobilenetv2's ~100 short regions then ran at the speed of one thread (native
 * harness, 2 threads: 22.7 ms passive, 13.6 ms spinning, 24.6 ms on one thread). A spin of a fraction
 * of a millisecond (10k) kept the threads hot between a run's kernels, but a program run every few
 * hundred milliseconds (a server's requests, a notebook's cells, the bench's rounds) found its threads
 * asleep, and on the development VM the runs after such pauses were up to 4x slower (mobilenetv2 at
 * 2 threads, 300 ms between runs: median 27-39 ms against 7-8 ms back to back; 100 ms: 9.5-9.7).
 * SPIN_COUNT = 1.5M spins about 40 ms after a run (measured: 26 ms of CPU per 1M spins), as long as
 * onnxruntime's pool spins after its runs (37-49 ms of CPU measured the same way); with it the same
 * runs took 8.5-9.2 ms (300 ms apart) and 7.7-7.8 ms (100 ms apart); 300k and 600k spins were not
 * enough at 300 ms. The cost: a core busy for ~40 ms after each run, and on a machine with more
 * runnable threads than cores a spinning thread takes the core its partner needs. A user's own
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT wins (OMP_WAIT_POLICY=passive on a busy shared machine).
 */
import { load, type LibraryHandle } from 'koffi';
import { KilnError } from '../../errors.ts';

/** A bound native function: its arguments are numbers, bigints, typed arrays, ArrayBuffers or arrays of them. */
export type NativeFunction<R = unknown> = (...args: unknown[]) => R;

/** A loaded shared object. */
export interface NativeLibrary {
  /** The path it was loaded from. */
  readonly path: string;
  /**
   * Binds the exported function `name` with the C type `signature` (`'void (float **bufs, int n)'`).
   * A KilnError when the object has no such function or the signature does not parse.
   */
  func<R = unknown>(name: string, signature: string): NativeFunction<R>;
  /** Unloads the object; later calls of `func` (and of functions it bound) throw. */
  dispose(): void;
}

/** `'ret (params)'` split into its return type and parameter list. */
function splitSignature(signature: string): { ret: string; params: string } | undefined {
  const m = /^\s*([^()]+?)\s*\((.*)\)\s*;?\s*$/s.exec(signature);
  return m ? { ret: m[1], params: m[2] } : undefined;
}

/** Spins of an OpenMP thread at a barrier before it sleeps (GOMP_SPINCOUNT; see the module header). */
export const SPIN_COUNT = 1_500_000;

/** Loads the shared object at `file`; a KilnError naming the file when it cannot be loaded. */
export function loadLibrary(file: string): NativeLibrary {
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.GOMP_SPINCOUNT = String(SPIN_COUNT);
  let handle: LibraryHandle | undefined;
  try {
    handle = load(file);
  } catch (e) {
    throw new KilnError(`cannot load the native object: ${(e as Error).message}`, { file, rule: 'native-load' });
  }
  const live = () => {
    if (!handle) throw new KilnError('the native object was unloaded; prepare the program again', { file, rule: 'native-load' });
    return handle;
  };
  return {
    path: file,
    func<R>(name: string, signature: string): NativeFunction<R> {
      if (!/^[A-Za-z_]\w*$/.test(name)) throw new KilnError(`bad native function name '${name}'`, { file, rule: 'native-bind' });
      const sig = splitSignature(signature);
      if (!sig) {
        throw new KilnError(`bad signature for native function '${name}': '${signature}' (write it as 'ret (type a, type b)')`,
          { file, rule: 'native-bind' });
      }
      let fn: ReturnType<LibraryHandle['func']>;
      try {
        fn = live().func(`${sig.ret} ${name}(${sig.params})`);
      } catch (e) {
        throw new KilnError(`cannot bind native function '${name}' as '${signature}': ${(e as Error).message}`,
          { file, rule: 'native-bind' });
      }
      return (...args: unknown[]) => {
        live();
        return fn(...args) as R;
      };
    },
    dispose() {
      if (!handle) return;
      const h = handle;
      handle = undefined;
      h.unload();
    },
  };
}
