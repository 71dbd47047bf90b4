/**
 * The kernel IR verifier: the rules every kernel must keep before a renderer sees it. Lowering runs it
 * on everything it makes (tests on purpose-built bad kernels, one per rule).
 *
 * Rules (the `rule` of the error):
 *   - `scope`: every loop variable, local and accumulator is bound before use and bound once per scope;
 *   - `buffer`: loads and stores name a declared param or shared buffer; params have distinct names;
 *     shared buffers only in `shared`; nothing stores into an input or constant;
 *   - `dtype`: a load has its buffer's dtype, a store's value has its buffer's dtype, binary operands
 *     agree, a select's condition is bool and its arms agree, an accum matches its accumulator, an
 *     indirect index reads an integer buffer;
 *   - `bounds`: an index whose range is statically known (interval arithmetic over loop extents, an
 *     expression an enclosing guard bounds counting as in its range; an indirect index is unknown)
 *     stays within [0, count) of its buffer;
 *   - `lanes`: vector lanes are whole numbers >= 2; both operands of a binary op have the same lanes
 *     and a lanewise op is add/sub/mul/div; unary ops, casts, selects, indices and broadcast operands
 *     are scalars; a ref has its local's lanes; an accum's value has its accumulator's lanes (a vector
 *     accumulator adds or multiplies); a `lane` index stays within its vector. A vector load or store
 *     must keep all its lanes in bounds (the `bounds` rule over [index, index + lanes - 1]); an
 *     `aligned` load is a vector whose index is provably a multiple of its lanes (kir.knownMultiple);
 *   - `annotation`: vectorize width > 0 divides the trip count unless the loop declares a tail; unroll
 *     factor > 0; tile sizes > 0; grid/block axis in 0..2; a barrier only in a kernel with a launch;
 *   - `parallel`: a parallel loop carries no dependency: every store inside it indexes with the loop
 *     variable (else iterations write the same element) unless its buffer is private to the iteration
 *     (a `local` declared inside the loop), and it updates only accumulators declared inside it or
 *     listed as its reductions. A `local` is declared once per kernel, under a name no param has.
 *   - `mma`: a tensor-core mma is in a kernel with a launch and under no guard (the whole warp runs
 *     it), its accumulator is f32 × 4 with combine add, and its A and B fragments have the shape's
 *     operand dtype and element counts (mma-layout.ts); an ldmatrix likewise, loading 1, 2 or 4
 *     matrices of a 16-bit dtype from a shared buffer at provably 16-byte aligned rows.
 *   - `async`: an asynchronous copy is in a kernel with a launch, from an input or constant buffer
 *     into a shared one, of 4, 8 or 16 bytes, both indices provable multiples of its lanes, the
 *     destination in bounds and the source in bounds where the copy's own bounds hold.
 * Errors are KilnErrors naming the kernel, its first IR node id and the rule.
 */
import { KilnError } from '../errors.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import type { DType } from '../ir/dtype.ts';
import { type BufferDecl, type Index, type Kernel, type Program, type Scalar, type Stmt, indexVars, knownMultiple, lanesOf } from './kir.ts';
import { printIndex } from './print.ts';
import { MMA_LAYOUTS } from './mma-layout.ts';

/** One broken rule. */
export interface KernelIssue {
  readonly kernel: string;
  readonly node?: string;
  readonly rule: 'scope' | 'buffer' | 'dtype' | 'lanes' | 'bounds' | 'annotation' | 'parallel' | 'mma' | 'async' | 'program';
  readonly message: string;
}

interface Scope {
  /** loop variables → extent */
  readonly vars: Map<string, number>;
  /** locals and accumulators → dtype */
  readonly locals: Map<string, DType>;
  /** locals and accumulators → lanes (1 for a scalar) */
  readonly lanes: Map<string, number>;
  /** accumulator name → depth of the loop nest where it is declared */
  readonly accDepth: Map<string, number>;
  /** index expressions an enclosing guard keeps in [0, extent), by printed text → extent */
  readonly guards: Map<string, number>;
}

/** Every rule a kernel breaks (empty when it is valid). */
export function kernelIssues(k: Kernel): KernelIssue[] {
  const issues: KernelIssue[] = [];
  const fail = (rule: KernelIssue['rule'], message: string) => issues.push({ kernel: k.name, node: k.nodes[0], rule, message });
  const buffers = new Map<string, BufferDecl>();
  for (const b of [...k.params, ...k.shared]) {
    if (buffers.has(b.name)) fail('buffer', `buffer '${b.name}' is declared twice`);
    buffers.set(b.name, b);
    if (!(Number.isInteger(b.count) && b.count >= 0)) fail('buffer', `buffer '${b.name}' has element count ${b.count}`);
  }
  for (const b of k.params) if (b.role === 'shared') fail('buffer', `param '${b.name}' has role shared; shared buffers go in the kernel's shared list`);
  for (const b of k.shared) if (b.role !== 'shared') fail('buffer', `shared buffer '${b.name}' has role ${b.role}`);
  // [loop var, its parallel annotation's reductions] for each enclosing parallel loop
  const parallels: { var: string; depth: number; reductions: readonly string[] }[] = [];
  /** local buffer → how many parallel loops enclose its declaration */
  const privateTo = new Map<string, number>();

  /**
   * The range of an index: its own (interval arithmetic), narrowed by a guard that bounds it (where
   * the two do not meet, the guarded code never runs and the guard's range stands).
   */
  const range = (e: Index, sc: Scope): [number, number] | undefined => {
    const guarded = sc.guards.size ? sc.guards.get(printIndex(e)) : undefined;
    const own = ownRange(e, sc);
    if (guarded === undefined) return own;
    const lo = Math.max(own?.[0] ?? 0, 0), hi = Math.min(own?.[1] ?? guarded - 1, guarded - 1);
    return lo <= hi ? [lo, hi] : [0, guarded - 1];
  };
  const ownRange = (e: Index, sc: Scope): [number, number] | undefined => {
    const vars = sc.vars;
    switch (e.k) {
      case 'const': return [e.value, e.value];
      case 'var': { const n = vars.get(e.name); return n === undefined || n === 0 ? undefined : [0, n - 1]; } // a loop of 0 iterations never indexes
      case 'load': return undefined;
      case 'table': return e.values.length ? [Math.min(...e.values), Math.max(...e.values)] : undefined;
      default: {
        const b = range(e.b, sc);
        if (e.k === 'mod' && b && b[0] > 0 && b[0] === b[1]) {
          const a0 = range(e.a, sc);
          return a0 && a0[0] >= 0 && a0[1] < b[0] ? a0 : [0, b[0] - 1];
        }
        const a = range(e.a, sc);
        if (!a || !b) return undefined;
        if (e.k === 'add') return [a[0] + b[0], a[1] + b[1]];
        if (e.k === 'mul') {
          const p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]];
          return [Math.min(...p), Math.max(...p)];
        }
        if (b[0] <= 0) return undefined;
        if (e.k === 'div') return [Math.floor(a[0] / (a[0] < 0 ? b[0] : b[1])), Math.floor(a[1] / (a[1] < 0 ? b[1] : b[0]))];
        return a[0] >= 0 && a[1] < b[0] ? a : [0, b[1] - 1];
      }
    }
  };

  const checkIndex = (e: Index, s: Scope, where: string) => {
    for (const v of indexVars(e)) if (!s.vars.has(v)) fail('scope', `${where}: loop variable '${v}' is not bound here`);
    const visit = (x: Index) => {
      if (x.k === 'load') {
        const b = buffers.get(x.buffer);
        if (!b) fail('buffer', `${where}: indirect index reads undeclared buffer '${x.buffer}'`);
        else if (!dtypeInfo(b.dtype).isInt) fail('dtype', `${where}: indirect index reads ${b.dtype} buffer '${x.buffer}'; it must be an integer buffer`);
        visit(x.index);
        checkBounds(x.buffer, x.index, s, where);
      } else if (x.k === 'table') {
        if (!x.values.every(Number.isInteger)) fail('dtype', `${where}: an index table holds a non-integer`);
        visit(x.index);
        checkTable(x.values.length, x.index, s, where);
      } else if (x.k !== 'const' && x.k !== 'var') { visit(x.a); visit(x.b); }
    };
    visit(e);
  };

  /** A table's index must be statically within the table (its range known). */
  const checkTable = (length: number, index: Index, s: Scope, where: string) => {
    const r = range(index, s);
    if (!r || r[0] < 0 || r[1] >= length) fail('bounds', `${where}: table index ${printIndex(index)} spans ${r ? `[${r[0]}, ${r[1]}]` : 'an unknown range'}, outside [0, ${length})`);
  };

  /** `span` elements from the index (a vector's lanes) must lie in the buffer. */
  const checkBounds = (buffer: string, index: Index, s: Scope, where: string, span = 1, aligned = false) => {
    const b = buffers.get(buffer);
    const r0 = range(index, s);
    // an aligned index is a multiple of its span: its largest value is the largest such multiple in range
    const r = r0 && aligned && r0[1] >= 0 ? [r0[0], r0[1] - (r0[1] % span)] : r0;
    if (b && r && (r[0] < 0 || r[1] + span - 1 >= b.count)) {
      const what = span > 1 ? `${span} lanes from index` : 'index';
      const verb = span > 1 ? 'span' : 'spans';
      fail('bounds', `${where}: ${what} ${printIndex(index)} of '${buffer}' ${verb} [${r[0]}, ${r[1] + span - 1}], outside [0, ${b.count})`);
    }
  };

  const checkLanes = (lanes: number | undefined, where: string) => {
    if (lanes !== undefined && !(Number.isInteger(lanes) && lanes >= 1)) fail('lanes', `${where}: lane count ${lanes} is not a positive whole number`);
  };
  const scalarOperand = (e: Scalar, what: string, where: string) => {
    if (lanesOf(e) !== 1) fail('lanes', `${where}: ${what} of a ${lanesOf(e)}-lane vector (only add/sub/mul/div are lanewise)`);
  };

  const checkScalar = (e: Scalar, s: Scope, where: string): void => {
    switch (e.k) {
      case 'lit': return;
      case 'load': {
        checkLanes(e.lanes, where);
        if (e.aligned) {
          const m = knownMultiple(e.index);
          if ((e.lanes ?? 1) < 2) fail('lanes', `${where}: an aligned load of a scalar`);
          else if (m % e.lanes! !== 0) fail('lanes', `${where}: aligned ${e.lanes}-lane load at ${printIndex(e.index)}, not provably a multiple of ${e.lanes}`);
        }
        const b = buffers.get(e.buffer);
        if (!b) { fail('buffer', `${where}: load of undeclared buffer '${e.buffer}'`); return; }
        if (b.dtype !== e.dtype) fail('dtype', `${where}: load of ${b.dtype} buffer '${e.buffer}' typed ${e.dtype}`);
        checkIndex(e.index, s, where);
        checkBounds(e.buffer, e.index, s, where, e.lanes ?? 1, e.aligned && knownMultiple(e.index) % (e.lanes ?? 1) === 0);
        return;
      }
      case 'ref': {
        const t = s.locals.get(e.name);
        if (t === undefined) fail('scope', `${where}: '${e.name}' is not bound here`);
        else if (t !== e.dtype) fail('dtype', `${where}: '${e.name}' is ${t}, read as ${e.dtype}`);
        else if ((s.lanes.get(e.name) ?? 1) !== (e.lanes ?? 1)) fail('lanes', `${where}: '${e.name}' has ${s.lanes.get(e.name) ?? 1} lane(s), read with ${e.lanes ?? 1}`);
        return;
      }
      case 'broadcast':
        checkScalar(e.a, s, where);
        checkLanes(e.lanes, where);
        scalarOperand(e.a, 'broadcast', where);
        if (e.a.dtype !== e.dtype) fail('dtype', `${where}: broadcast of ${e.a.dtype} typed ${e.dtype}`);
        return;
      case 'lane': {
        checkScalar(e.a, s, where);
        checkIndex(e.index, s, where);
        const n = lanesOf(e.a), r = range(e.index, s);
        if (n < 2) fail('lanes', `${where}: lane of a scalar`);
        else if (!r || r[0] < 0 || r[1] >= n) fail('lanes', `${where}: lane ${printIndex(e.index)} is not within [0, ${n})`);
        if (e.a.dtype !== e.dtype) fail('dtype', `${where}: lane of ${e.a.dtype} typed ${e.dtype}`);
        return;
      }
      case 'index': checkIndex(e.index, s, where); return;
      case 'table': checkIndex(e.index, s, where); checkTable(e.values.length, e.index, s, where); return;
      case 'unary': case 'cast': checkScalar(e.a, s, where); scalarOperand(e.a, e.k === 'cast' ? 'cast' : e.op, where); return;
      case 'binary': {
        checkScalar(e.a, s, where); checkScalar(e.b, s, where);
        if (e.a.dtype !== e.b.dtype) fail('dtype', `${where}: ${e.op} of ${e.a.dtype} and ${e.b.dtype}`);
        const la = lanesOf(e.a), lb = lanesOf(e.b);
        if (la !== lb) fail('lanes', `${where}: ${e.op} of ${la} and ${lb} lane(s)`);
        else if ((e.lanes ?? 1) !== la) fail('lanes', `${where}: ${e.op} of ${la}-lane operands declares ${e.lanes ?? 1} lane(s)`);
        else if (la > 1 && !['add', 'sub', 'mul', 'div'].includes(e.op)) fail('lanes', `${where}: ${e.op} is not lanewise (only add/sub/mul/div are)`);
        return;
      }
      case 'select':
        checkScalar(e.cond, s, where); checkScalar(e.a, s, where); checkScalar(e.b, s, where);
        for (const x of [e.cond, e.a, e.b]) scalarOperand(x, 'select', where);
        if (e.cond.dtype !== 'bool') fail('dtype', `${where}: select condition is ${e.cond.dtype}, not bool`);
        if (e.a.dtype !== e.b.dtype || e.a.dtype !== e.dtype) fail('dtype', `${where}: select arms ${e.a.dtype} and ${e.b.dtype} (result ${e.dtype})`);
    }
  };

  const bind = (names: Set<string>, name: string, where: string) => {
    if (names.has(name)) fail('scope', `${where}: '${name}' is bound twice`);
    names.add(name);
  };

  const combines = new Map<string, string>();
  const noteAccs = (list: readonly Stmt[]): void => {
    for (const x of list) if (x.k === 'acc') combines.set(x.name, x.combine); else if (x.k === 'loop' || x.k === 'guard') noteAccs(x.body);
  };
  noteAccs(k.body);
  const walk = (stmts: readonly Stmt[], s: Scope, depth: number) => {
    const here = new Set<string>();
    for (const st of stmts) {
      switch (st.k) {
        case 'loop': {
          const where = `loop ${st.var}`;
          if (s.vars.has(st.var) || s.locals.has(st.var)) fail('scope', `${where}: '${st.var}' is already bound`);
          bind(here, st.var, where);
          if (!(Number.isInteger(st.extent) && st.extent >= 0)) fail('annotation', `${where}: extent ${st.extent} is not a count`);
          let par: { var: string; depth: number; reductions: readonly string[] } | undefined;
          for (const a of st.annotations) {
            if (a.kind === 'vectorize') {
              if (!(Number.isInteger(a.width) && a.width > 0)) fail('annotation', `${where}: vectorize width ${a.width} must be a positive integer`);
              else if (st.extent % a.width !== 0 && !a.tail) fail('annotation', `${where}: vectorize(${a.width}) does not divide the trip count ${st.extent} and the loop declares no tail`);
            } else if (a.kind === 'unroll') {
              if (!(Number.isInteger(a.factor) && a.factor > 0)) fail('annotation', `${where}: unroll factor ${a.factor} must be a positive integer`);
            } else if (a.kind === 'tile') {
              if (!a.sizes.length || a.sizes.some((x) => !(Number.isInteger(x) && x > 0))) fail('annotation', `${where}: tile sizes [${a.sizes.join(', ')}] must be positive integers`);
            } else if (a.kind === 'grid' || a.kind === 'block') {
              if (!(a.axis === 0 || a.axis === 1 || a.axis === 2)) fail('annotation', `${where}: ${a.kind} axis ${a.axis} must be 0, 1 or 2`);
            } else if (a.kind === 'parallel') {
              for (const r of a.reductions ?? []) if (!s.accDepth.has(r)) fail('parallel', `${where}: reduction '${r}' is not an accumulator declared outside the loop`);
              par = { var: st.var, depth: depth + 1, reductions: a.reductions ?? [] };
            }
          }
          const inner: Scope = { vars: new Map(s.vars).set(st.var, st.extent), locals: new Map(s.locals), lanes: new Map(s.lanes), accDepth: new Map(s.accDepth), guards: s.guards };
          if (par) parallels.push(par);
          walk(st.body, inner, depth + 1);
          if (par) parallels.pop();
          break;
        }
        case 'store': {
          const where = `store ${st.buffer}[${printIndex(st.index)}]`;
          const b = buffers.get(st.buffer);
          if (!b) { fail('buffer', `${where}: store to undeclared buffer '${st.buffer}'`); break; }
          if (b.role === 'input' || b.role === 'constant') fail('buffer', `${where}: store to ${b.role} buffer '${st.buffer}'`);
          if (b.dtype !== st.value.dtype) fail('dtype', `${where}: stores a ${st.value.dtype} value into ${b.dtype} buffer '${st.buffer}'`);
          checkIndex(st.index, s, where);
          checkBounds(st.buffer, st.index, s, where, lanesOf(st.value));
          checkScalar(st.value, s, where);
          const used = indexVars(st.index);
          // a local is private to the iterations of the parallel loops around its declaration
          for (const p of parallels.slice(privateTo.get(st.buffer) ?? 0)) {
            if (!used.has(p.var)) fail('parallel', `${where}: inside parallel loop ${p.var} but its index does not depend on ${p.var} (iterations would write the same element)`);
          }
          break;
        }
        case 'let':
          checkScalar(st.value, s, `let ${st.name}`);
          if (s.vars.has(st.name)) fail('scope', `let ${st.name}: '${st.name}' is a loop variable`);
          bind(here, st.name, `let ${st.name}`);
          s.locals.set(st.name, st.value.dtype);
          s.lanes.set(st.name, lanesOf(st.value));
          break;
        case 'acc':
          checkScalar(st.init, s, `acc ${st.name}`);
          if (st.init.dtype !== st.dtype) fail('dtype', `acc ${st.name}: initial value is ${st.init.dtype}, the accumulator ${st.dtype}`);
          checkLanes(st.lanes, `acc ${st.name}`);
          if (lanesOf(st.init) !== (st.lanes ?? 1)) fail('lanes', `acc ${st.name}: initial value has ${lanesOf(st.init)} lane(s), the accumulator ${st.lanes ?? 1}`);
          if ((st.lanes ?? 1) > 1 && st.combine !== 'add' && st.combine !== 'mul') fail('lanes', `acc ${st.name}: a vector accumulator adds or multiplies, not ${st.combine}`);
          bind(here, st.name, `acc ${st.name}`);
          s.locals.set(st.name, st.dtype);
          s.lanes.set(st.name, st.lanes ?? 1);
          s.accDepth.set(st.name, depth);
          break;
        case 'accum': {
          const where = `accum ${st.name}`;
          checkScalar(st.value, s, where);
          const d = s.accDepth.get(st.name);
          if (d === undefined) { fail('scope', `${where}: '${st.name}' is not an accumulator bound here`); break; }
          if (s.locals.get(st.name) !== st.value.dtype) fail('dtype', `${where}: value is ${st.value.dtype}, the accumulator ${s.locals.get(st.name)}`);
          if (lanesOf(st.value) !== (s.lanes.get(st.name) ?? 1)) fail('lanes', `${where}: value has ${lanesOf(st.value)} lane(s), the accumulator ${s.lanes.get(st.name) ?? 1}`);
          for (const p of parallels) {
            if (d < p.depth && !p.reductions.includes(st.name)) {
              fail('parallel', `${where}: parallel loop ${p.var} updates accumulator '${st.name}' declared outside it without declaring it as a reduction`);
            }
          }
          break;
        }
        case 'guard': {
          const guards = new Map(s.guards);
          for (const b of st.bounds) {
            checkIndex(b.index, s, 'guard');
            if (!(Number.isInteger(b.extent) && b.extent >= 0)) fail('annotation', `guard: extent ${b.extent} is not a count`);
            guards.set(printIndex(b.index), b.extent);
          }
          walk(st.body, { vars: s.vars, locals: new Map(s.locals), lanes: new Map(s.lanes), accDepth: s.accDepth, guards }, depth);
          break;
        }
        case 'barrier':
          if (!k.launch) fail('annotation', 'barrier in a kernel without a GPU launch');
          break;
        case 'mma': {
          const where = `mma<${st.shape}> into ${st.acc}`;
          const layout = MMA_LAYOUTS[st.shape];
          if (!layout) { fail('mma', `${where}: unknown shape`); break; }
          if (!k.launch) fail('mma', `${where}: in a kernel without a GPU launch`);
          if (s.guards.size) fail('mma', `${where}: under a guard (every thread of the warp must reach it)`);
          const d = s.accDepth.get(st.acc);
          if (d === undefined) fail('scope', `${where}: '${st.acc}' is not an accumulator bound here`);
          else if (s.locals.get(st.acc) !== 'f32' || s.lanes.get(st.acc) !== 4 || combines.get(st.acc) !== 'add') {
            fail('mma', `${where}: the accumulator must be f32 with 4 lanes and combine add`);
          }
          for (const [what, elems, want] of [['A', st.a, layout.aElems], ['B', st.b, layout.bElems]] as const) {
            let lanes = 0;
            for (const x of elems) {
              checkScalar(x, s, where);
              lanes += lanesOf(x);
              if (x.dtype !== layout.operand) fail('dtype', `${where}: ${what} element is ${x.dtype}, the shape takes ${layout.operand}`);
            }
            if (lanes !== want) fail('mma', `${where}: ${what} fragment has ${lanes} element(s), the shape takes ${want}`);
          }
          break;
        }
        case 'ldmatrix': {
          const where = `ldmatrix<${st.names.length}>(${st.buffer}[${printIndex(st.index)}])`;
          if (!k.launch) fail('mma', `${where}: in a kernel without a GPU launch`);
          if (s.guards.size) fail('mma', `${where}: under a guard (every thread of the warp must reach it)`);
          const b = buffers.get(st.buffer);
          if (!b || b.role !== 'shared') fail('mma', `${where}: '${st.buffer}' is not a shared buffer`);
          else if (b.dtype !== st.dtype) fail('dtype', `${where}: loads ${st.dtype} from a ${b.dtype} buffer`);
          if (dtypeInfo(st.dtype).bits !== 16) fail('mma', `${where}: loads ${st.dtype}; ldmatrix moves 16-bit elements`);
          if (![1, 2, 4].includes(st.names.length)) fail('mma', `${where}: loads ${st.names.length} matrices (1, 2 or 4)`);
          if (knownMultiple(st.index) % 8 !== 0) fail('mma', `${where}: the row address ${printIndex(st.index)} is not provably a multiple of 8 (16 bytes)`);
          checkIndex(st.index, s, where);
          if (b) checkBounds(st.buffer, st.index, s, where, 8, true);
          for (const n of st.names) {
            if (s.vars.has(n)) fail('scope', `${where}: '${n}' is a loop variable`);
            bind(here, n, where);
            s.locals.set(n, st.dtype);
            s.lanes.set(n, 2);
          }
          break;
        }
        case 'copy_async': {
          const where = `copy_async ${st.to}[${printIndex(st.toIndex)}] from ${st.from}[${printIndex(st.fromIndex)}]`;
          if (!k.launch) fail('async', `${where}: in a kernel without a GPU launch`);
          const to = buffers.get(st.to), from = buffers.get(st.from);
          if (!to || to.role !== 'shared') fail('async', `${where}: the destination '${st.to}' is not a shared buffer`);
          if (!from || (from.role !== 'input' && from.role !== 'constant')) fail('async', `${where}: the source '${st.from}' is not an input or constant buffer`);
          if ((to && to.dtype !== st.dtype) || (from && from.dtype !== st.dtype)) fail('dtype', `${where}: copies ${st.dtype} between ${from?.dtype} and ${to?.dtype} buffers`);
          const bytes = st.lanes * (dtypeInfo(st.dtype).bits / 8);
          if (![4, 8, 16].includes(bytes)) fail('async', `${where}: copies ${bytes} bytes; cp.async copies 4, 8 or 16`);
          for (const [what, ix] of [['destination', st.toIndex], ['source', st.fromIndex]] as const) {
            if (knownMultiple(ix) % st.lanes !== 0) fail('async', `${where}: the ${what} index ${printIndex(ix)} is not provably a multiple of ${st.lanes}`);
            checkIndex(ix, s, where);
          }
          const guards = new Map(s.guards);
          for (const b of st.bounds) { checkIndex(b.index, s, where); guards.set(printIndex(b.index), b.extent); }
          if (to && from) {
            checkBounds(st.to, st.toIndex, s, where, st.lanes, true);
            checkBounds(st.from, st.fromIndex, { ...s, guards }, where, st.lanes, true); // read only where the bounds hold
          }
          break;
        }
        case 'async_commit': case 'async_wait':
          if (!k.launch) fail('async', `${st.k}: in a kernel without a GPU launch`);
          if (st.k === 'async_wait' && !(Number.isInteger(st.pending) && st.pending >= 0)) fail('async', `async_wait ${st.pending}: not a count of groups`);
          break;
        case 'local':
          if (buffers.has(st.name)) fail('buffer', `local ${st.name}: '${st.name}' is already a buffer of the kernel`);
          else if (!(Number.isInteger(st.count) && st.count > 0)) fail('buffer', `local ${st.name}: count ${st.count} is not a positive integer`);
          buffers.set(st.name, { name: st.name, dtype: st.dtype, count: st.count, role: 'local' });
          privateTo.set(st.name, parallels.length);
          break;
      }
    }
  };
  walk(k.body, { vars: new Map(), locals: new Map(), lanes: new Map(), accDepth: new Map(), guards: new Map() }, 0);
  return issues;
}

/** The issue as a KilnError naming kernel, node and rule. */
export function issueError(i: KernelIssue): KilnError {
  return new KilnError(`kernel @${i.kernel}: ${i.message}`, { node: i.node, rule: i.rule });
}

/** Throws the first broken rule of a kernel. */
export function verifyKernel(k: Kernel): void {
  const [first] = kernelIssues(k);
  if (first) throw issueError(first);
}

/** Every rule a program breaks: its kernels' issues, then calls against kernels and buffers. */
export function programIssues(p: Program): KernelIssue[] {
  const issues = p.kernels.flatMap(kernelIssues);
  const kernels = new Map(p.kernels.map((k) => [k.name, k]));
  const buffers = new Map(p.buffers.map((b) => [b.value, b]));
  for (const b of p.buffers) {
    if (b.aliasOf !== undefined && !buffers.has(b.aliasOf)) {
      issues.push({ kernel: '(program)', rule: 'program', message: `buffer %${b.value} is a view of unknown buffer %${b.aliasOf}` });
    }
  }
  for (const c of p.calls) {
    const k = kernels.get(c.kernel);
    const fail = (message: string) => issues.push({ kernel: c.kernel, node: k?.nodes[0], rule: 'program', message });
    if (!k) { fail(`call of unknown kernel @${c.kernel}`); continue; }
    if (c.args.length !== k.params.length) { fail(`call passes ${c.args.length} buffers to ${k.params.length} params`); continue; }
    c.args.forEach((a, i) => {
      const b = buffers.get(a), prm = k.params[i];
      if (!b) fail(`call argument %${a} is not a program buffer`);
      else if (b.dtype !== prm.dtype || b.count < prm.count) fail(`call binds %${a} (${b.dtype}[${b.count}]) to param ${prm.name} (${prm.dtype}[${prm.count}])`);
    });
  }
  return issues;
}

/** Throws the first broken rule of a program. */
export function verifyProgram(p: Program): void {
  const [first] = programIssues(p);
  if (first) throw issueError(first);
}
