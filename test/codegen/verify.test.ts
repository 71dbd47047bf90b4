/**
 * The kernel IR verifier (compiler/codegen/verify.ts): a valid kernel passes, and each rule fails on a
 * kernel built to break it, with an error naming the kernel, its node and the rule. Also the printed
 * form of the annotations and GPU notions the lowerings do not make yet (tile, unroll, grid/block,
 * launch, shared memory, barrier) and how the C descriptor renders them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import {
  type Annotation, type BufferDecl, type Kernel, type Program, type Stmt,
  binary, broadcast, iadd, ic, idiv, imod, imul, iv, knownMultiple, lane, lit, load, loop, ref, unary, vload, vref,
} from '../../compiler/codegen/kir.ts';
import { kernelIssues, programIssues, verifyKernel } from '../../compiler/codegen/verify.ts';
import { printKernel, printProgram } from '../../compiler/codegen/print.ts';
import { renderKernel, renderProgram } from '../../compiler/codegen/render.ts';
import { C } from '../../compiler/codegen/lang/c.ts';
import { compileC } from './cc.ts';

const IN: BufferDecl = { name: 'in0', dtype: 'f32', count: 12, role: 'input' };
const OUT: BufferDecl = { name: 'out0', dtype: 'f32', count: 4, role: 'output' };

/** A row-sum kernel: out0[i] = sum_j in0[i*3 + j], outer loop parallel. */
function kernel(body?: Stmt[], params: BufferDecl[] = [IN, OUT], extra: Partial<Kernel> = {}): Kernel {
  return {
    name: 'k0_test', params, shared: [], nodes: ['7'], loc: ['/sum'],
    body: body ?? [loop('i', 4, [
      { k: 'acc', name: 's', dtype: 'f32', combine: 'add', init: lit(0, 'f32') },
      loop('j', 3, [{ k: 'accum', name: 's', value: load('in0', iadd(imul(iv('i'), ic(3)), iv('j')), 'f32') }]),
      { k: 'store', buffer: 'out0', index: iv('i'), value: ref('s', 'f32') },
    ], [{ kind: 'parallel' }])],
    ...extra,
  };
}

const fails = (k: Kernel, rule: string, text: string) => {
  const issues = kernelIssues(k);
  assert.ok(issues.some((i) => i.rule === rule && i.message.includes(text)), `expected rule ${rule} '${text}', got ${JSON.stringify(issues)}`);
  try {
    verifyKernel(k);
    assert.unreachable('verifyKernel should throw');
  } catch (e) {
    assert.instance(e, KilnError);
    const err = e as KilnError;
    assert.ok(err.message.includes('kernel @k0_test'), err.message);
    assert.is(err.place.node, '7');
    assert.ok(err.place.rule !== undefined);
  }
};

const storeAt = (index = iv('i'), value = lit(1, 'f32')): Stmt => ({ k: 'store', buffer: 'out0', index, value });

test('a valid kernel has no issues', () => {
  assert.equal(kernelIssues(kernel()), []);
  verifyKernel(kernel());
});

test('scope: an unbound loop variable, an unbound local, a name bound twice', () => {
  fails(kernel([loop('i', 4, [storeAt(iv('q'))])]), 'scope', "loop variable 'q' is not bound");
  fails(kernel([loop('i', 4, [storeAt(iv('i'), ref('t', 'f32'))])]), 'scope', "'t' is not bound");
  fails(kernel([loop('i', 4, [loop('i', 1, [storeAt()])])]), 'scope', "'i' is already bound");
  fails(kernel([loop('i', 4, [{ k: 'let', name: 't', value: lit(1, 'f32') }, { k: 'let', name: 't', value: lit(2, 'f32') }, storeAt()])]), 'scope', "'t' is bound twice");
  fails(kernel([loop('i', 4, [{ k: 'accum', name: 'nope', value: lit(1, 'f32') }, storeAt()])]), 'scope', "'nope' is not an accumulator");
});

test('buffer: undeclared buffers, stores into inputs, duplicate params, shared roles', () => {
  fails(kernel([loop('i', 4, [{ k: 'store', buffer: 'missing', index: iv('i'), value: lit(1, 'f32') }])]), 'buffer', "undeclared buffer 'missing'");
  fails(kernel([loop('i', 4, [storeAt(iv('i'), load('ghost', iv('i'), 'f32'))])]), 'buffer', "load of undeclared buffer 'ghost'");
  fails(kernel([loop('i', 4, [{ k: 'store', buffer: 'in0', index: iv('i'), value: lit(1, 'f32') }])]), 'buffer', "store to input buffer 'in0'");
  fails(kernel(undefined, [IN, OUT, { ...OUT }]), 'buffer', "'out0' is declared twice");
  fails(kernel(undefined, [IN, OUT, { name: 'sh', dtype: 'f32', count: 4, role: 'shared' }]), 'buffer', 'role shared');
});

test('dtype: loads, stores, operands, select conditions, accumulators, indirect indices', () => {
  fails(kernel([loop('i', 4, [storeAt(iv('i'), load('in0', iv('i'), 'f64'))])]), 'dtype', "load of f32 buffer 'in0' typed f64");
  fails(kernel([loop('i', 4, [storeAt(iv('i'), lit(1, 'i32'))])]), 'dtype', 'stores a i32 value into f32 buffer');
  fails(kernel([loop('i', 4, [storeAt(iv('i'), binary('add', lit(1, 'f32'), lit(1, 'f64')))])]), 'dtype', 'add of f32 and f64');
  fails(kernel([loop('i', 4, [storeAt(iv('i'), { k: 'select', dtype: 'f32', cond: lit(1, 'f32'), a: lit(1, 'f32'), b: lit(2, 'f32') })])]), 'dtype', 'select condition is f32');
  fails(kernel([{ k: 'acc', name: 's', dtype: 'f32', combine: 'add', init: lit(0, 'f64') }, loop('i', 4, [storeAt()])]), 'dtype', 'initial value is f64');
  fails(kernel([loop('i', 4, [storeAt(iv('i'), load('in0', { k: 'load', buffer: 'in0', index: iv('i') }, 'f32'))])]), 'dtype', "reads f32 buffer 'in0'");
});

test('bounds: a statically known index past the buffer fails; an indirect one is not judged', () => {
  fails(kernel([loop('i', 5, [storeAt()])]), 'bounds', 'spans [0, 4], outside [0, 4)');
  fails(kernel([loop('i', 4, [storeAt(iv('i'), load('in0', imul(iv('i'), ic(4)), 'f32'))])]), 'bounds', "index i * 4 of 'in0' spans [0, 12]");
  const ind: BufferDecl = { name: 'idx', dtype: 'i64', count: 4, role: 'input' };
  assert.equal(kernelIssues(kernel([loop('i', 4, [storeAt(iv('i'), load('in0', { k: 'load', buffer: 'idx', index: iv('i') }, 'f32'))])], [IN, OUT, ind])), []);
});

test('annotation: vectorize must divide the trip count unless it has a tail; bad unroll, tile, axes; barrier needs a launch', () => {
  const with_ = (ann: Annotation[], extent = 4) => kernel([loop('i', extent, [storeAt()], ann)]);
  fails(with_([{ kind: 'vectorize', width: 3 }]), 'annotation', 'vectorize(3) does not divide the trip count 4');
  assert.equal(kernelIssues(with_([{ kind: 'vectorize', width: 3, tail: true }])), []);
  fails(with_([{ kind: 'vectorize', width: 0 }]), 'annotation', 'vectorize width 0');
  fails(with_([{ kind: 'unroll', factor: -2 }]), 'annotation', 'unroll factor -2');
  fails(with_([{ kind: 'tile', sizes: [4, 0] }]), 'annotation', 'tile sizes [4, 0]');
  fails(with_([{ kind: 'grid', axis: 3 }]), 'annotation', 'grid axis 3');
  fails(kernel([loop('i', 4, [{ k: 'barrier' }, storeAt()])]), 'annotation', 'barrier in a kernel without a GPU launch');
});

test('parallel: no store that every iteration repeats, no undeclared carried accumulator', () => {
  fails(kernel([loop('i', 4, [storeAt(ic(0))], [{ kind: 'parallel' }])]), 'parallel', 'does not depend on i');
  const carried = (ann: Annotation[]) => kernel([
    { k: 'acc', name: 's', dtype: 'f32', combine: 'add', init: lit(0, 'f32') },
    loop('i', 12, [{ k: 'accum', name: 's', value: load('in0', iv('i'), 'f32') }], ann),
    storeAt(ic(0), ref('s', 'f32')),
  ]);
  fails(carried([{ kind: 'parallel' }]), 'parallel', "updates accumulator 's' declared outside it");
  assert.equal(kernelIssues(carried([{ kind: 'parallel', reductions: ['s'] }])), []);
  fails(carried([{ kind: 'parallel', reductions: ['t'] }]), 'parallel', "reduction 't' is not an accumulator");
  // the declared reduction renders as an OpenMP reduction clause
  assert.match(renderKernel(C, carried([{ kind: 'parallel', reductions: ['s'] }])).join('\n'), '#pragma omp parallel for reduction(+:s)');
});

test('local: a buffer private to each iteration of a parallel loop; declared once, under a new name, in bounds', () => {
  // each iteration copies its row of in0 into its private lc0 and sums it: stores to lc0 need not index with i
  const privateRow = (decl: Stmt, at = iv('j')) => kernel([loop('i', 4, [
    decl,
    loop('j', 3, [{ k: 'store', buffer: 'lc0', index: at, value: load('in0', iadd(imul(iv('i'), ic(3)), iv('j')), 'f32') }]),
    { k: 'acc', name: 's', dtype: 'f32', combine: 'add', init: lit(0, 'f32') },
    loop('j2', 3, [{ k: 'accum', name: 's', value: load('lc0', iv('j2'), 'f32') }]),
    { k: 'store', buffer: 'out0', index: iv('i'), value: ref('s', 'f32') },
  ], [{ kind: 'parallel' }])]);
  const ok = privateRow({ k: 'local', name: 'lc0', dtype: 'f32', count: 3 });
  assert.equal(kernelIssues(ok), []);
  fails(privateRow({ k: 'local', name: 'lc0', dtype: 'f32', count: 2 }), 'bounds', 'lc0');
  fails(privateRow({ k: 'local', name: 'in0', dtype: 'f32', count: 3 }), 'buffer', "'in0' is already a buffer");
  // declared outside the parallel loop, the buffer is shared by its iterations: the store must index with i
  const shared = kernel([{ k: 'local', name: 'lc0', dtype: 'f32', count: 3 }, loop('i', 4, [
    { k: 'store', buffer: 'lc0', index: ic(0), value: load('in0', iv('i'), 'f32') },
  ], [{ kind: 'parallel' }])], [IN, OUT]);
  fails(shared, 'parallel', 'does not depend on i');
  assert.match(printKernel(ok), 'local lc0: f32[3]');
  const c = renderProgram(C, { name: 'p', buffers: [], kernels: [ok], calls: [] });
  assert.match(c, 'static _Thread_local unsigned char kiln_local[12] __attribute__((aligned(64)));');
  assert.match(c, 'float *restrict lc0 = (float *)(kiln_local + 0);');
});

test('program: calls bind existing kernels to buffers of the right type and size', () => {
  const k = kernel();
  const p: Program = {
    name: 'p', kernels: [k],
    buffers: [{ value: 'x', dtype: 'f32', count: 12, kind: 'input' }, { value: 'y', dtype: 'f32', count: 4, kind: 'output' }, { value: 'v', dtype: 'f32', count: 4, kind: 'output', aliasOf: 'y' }],
    calls: [{ kernel: 'k0_test', args: ['x', 'y'] }],
  };
  assert.equal(programIssues(p), []);
  const bad = (calls: Program['calls'], text: string) => {
    const issues = programIssues({ ...p, calls });
    assert.ok(issues.some((i) => i.rule === 'program' && i.message.includes(text)), JSON.stringify(issues));
  };
  bad([{ kernel: 'nope', args: [] }], 'unknown kernel @nope');
  bad([{ kernel: 'k0_test', args: ['x'] }], 'passes 1 buffers to 2 params');
  bad([{ kernel: 'k0_test', args: ['y', 'x'] }], 'binds %y (f32[4]) to param in0 (f32[12])');
  bad([{ kernel: 'k0_test', args: ['x', 'zz'] }], '%zz is not a program buffer');
  assert.match(printProgram(p), 'buffer %v: f32[4] view %y');
});

test('printer and C: schedule annotations and GPU notions', () => {
  const sh: BufferDecl = { name: 'tileA', dtype: 'f32', count: 64, role: 'shared' };
  const gpu = kernel([loop('b', 4, [loop('t', 1, [{ k: 'barrier' }, storeAt(iv('b'))], [{ kind: 'block', axis: 0 }])], [{ kind: 'grid', axis: 0 }])],
    [IN, OUT], { shared: [sh], launch: { grid: [4, 1, 1], block: [1, 1, 1] } });
  assert.equal(kernelIssues(gpu), []);
  const text = printKernel(gpu);
  assert.match(text, 'launch grid=[4, 1, 1] block=[1, 1, 1]');
  assert.match(text, 'shared tileA: f32[64] shared');
  assert.match(text, 'for b < 4 grid(0) {');
  assert.match(text, 'for t < 1 block(0) {');
  assert.match(text, '      barrier');
  assert.throws(() => renderKernel(C, gpu), /no barrier/);

  const cpu = kernel([loop('i', 4, [loop('j', 3, [{ k: 'store', buffer: 'out0', index: iv('i'), value: load('in0', iadd(imul(iv('i'), ic(3)), iv('j')), 'f32') }], [{ kind: 'unroll', factor: 3 }])],
    [{ kind: 'tile', sizes: [2, 2] }])]);
  assert.match(printKernel(cpu), 'for i < 4 tile(2, 2) {');
  assert.match(printKernel(cpu), 'for j < 3 unroll(3) {');
  const src = renderProgram(C, { name: 'ann', kernels: [cpu], buffers: [{ value: 'x', dtype: 'f32', count: 12, kind: 'input' }, { value: 'y', dtype: 'f32', count: 4, kind: 'output' }], calls: [{ kernel: 'k0_test', args: ['x', 'y'] }] });
  assert.match(src, 'for (int64_t i = 0; i < 4; i++) { /* tile(2, 2) */');
  assert.match(src, '#pragma GCC unroll 3\n    for (int64_t j = 0; j < 3; j++) {');
  const cc = compileC(src, 'annotations');
  if (cc) assert.ok(cc.ok, cc.log);
});

/** A 4-lane kernel: out0[i*4 .. i*4+3] = 2 * sum_j in0[j*4 ..] (vector accumulator), then one lane scalar. */
function vectorKernel(over: { accum?: Stmt; store?: Stmt; extra?: Stmt[]; combine?: 'add' | 'max' } = {}): Kernel {
  return kernel([loop('i', 1, [
    { k: 'acc', name: 'v', dtype: 'f32', combine: over.combine ?? 'add', init: broadcast(lit(0, 'f32'), 4), lanes: 4 },
    loop('j', 3, [
      { k: 'let', name: 'x', value: vload('in0', imul(iv('j'), ic(4)), 'f32', 4) },
      over.accum ?? { k: 'accum', name: 'v', value: binary('mul', broadcast(lit(2, 'f32'), 4), vref('x', 'f32', 4)) },
    ]),
    over.store ?? { k: 'store', buffer: 'out0', index: imul(iv('i'), ic(4)), value: vref('v', 'f32', 4) },
    ...(over.extra ?? []),
  ], [{ kind: 'parallel' }])]);
}

test('lanes: a vector kernel is valid; lane counts must agree and stay in range', () => {
  const ok = vectorKernel({ extra: [{ k: 'store', buffer: 'out0', index: iv('i'), value: lane(vref('v', 'f32', 4), ic(3)) }] });
  assert.equal(kernelIssues(ok), []);
  fails(vectorKernel({ accum: { k: 'accum', name: 'v', value: binary('mul', lit(2, 'f32'), vref('x', 'f32', 4)) } }), 'lanes', 'mul of 1 and 4 lane(s)');
  fails(vectorKernel({ accum: { k: 'accum', name: 'v', value: binary('max', vref('x', 'f32', 4), vref('x', 'f32', 4)) } }), 'lanes', 'max is not lanewise');
  fails(vectorKernel({ accum: { k: 'accum', name: 'v', value: load('in0', iv('j'), 'f32') } }), 'lanes', 'value has 1 lane(s), the accumulator 4');
  fails(vectorKernel({ combine: 'max' }), 'lanes', 'a vector accumulator adds or multiplies, not max');
  fails(vectorKernel({ accum: { k: 'accum', name: 'v', value: vref('x', 'f32', 8) } }), 'lanes', "'x' has 4 lane(s), read with 8");
  fails(vectorKernel({ extra: [{ k: 'store', buffer: 'out0', index: iv('i'), value: lane(vref('v', 'f32', 4), ic(4)) }] }), 'lanes', 'lane 4 is not within [0, 4)');
  fails(vectorKernel({ extra: [{ k: 'store', buffer: 'out0', index: iv('i'), value: unary('exp', vref('v', 'f32', 4)) }] }), 'lanes', 'exp of a 4-lane vector');
  fails(vectorKernel({ extra: [{ k: 'store', buffer: 'out0', index: iv('i'), value: broadcast(vref('v', 'f32', 4), 4) }] }), 'lanes', 'broadcast of a 4-lane vector');
});

test('bounds: every lane of a vector load or store must lie in its buffer', () => {
  // out0 has 4 elements: a 4-lane store at 1 reaches element 4
  fails(vectorKernel({ store: { k: 'store', buffer: 'out0', index: iadd(iv('i'), ic(1)), value: vref('v', 'f32', 4) } }), 'bounds', "4 lanes from index i + 1 of 'out0' span [1, 4], outside [0, 4)");
  // in0 has 12 elements: rows j*4 of 4 lanes fit, j*4 + 1 does not
  const past = vectorKernel({ accum: { k: 'accum', name: 'v', value: vload('in0', iadd(imul(iv('j'), ic(4)), ic(1)), 'f32', 4) } });
  fails(past, 'bounds', "4 lanes from index j * 4 + 1 of 'in0' span [1, 12], outside [0, 12)");
});

test('aligned: an aligned vector load needs an index that is a known multiple of its lanes', () => {
  const at = (index: Parameters<typeof vload>[1], lanes = 4) => vectorKernel({ accum: { k: 'accum', name: 'v', value: vload('in0', index, 'f32', lanes, true) } });
  assert.equal(kernelIssues(at(imul(iv('j'), ic(4)))), []);
  fails(at(iadd(imul(iv('j'), ic(4)), ic(2))), 'lanes', 'aligned 4-lane load at j * 4 + 2, not provably a multiple of 4');
  fails(at(iv('j')), 'lanes', 'not provably a multiple of 4');
  assert.match(printKernel(at(imul(iv('j'), ic(4)))), 'vload<4, aligned>(in0[j * 4])');
});

test('knownMultiple: products multiply, sums take the gcd, a modulo by a constant keeps their gcd', () => {
  assert.is(knownMultiple(imul(iv('a'), ic(12))), 12);
  assert.is(knownMultiple(iadd(imul(iv('a'), ic(12)), imul(iv('b'), ic(8)))), 4);
  assert.is(knownMultiple(imod(imul(iv('a'), ic(12)), ic(8))), 4);
  assert.is(knownMultiple(idiv(imul(iv('a'), ic(12)), ic(4))), 1);
  assert.is(knownMultiple(iadd(imul(iv('a'), ic(8)), ic(3))), 1);
});

test('bounds: under a guard, an aligned load may end at the buffer end (its index is at most the last multiple of its lanes)', () => {
  // in0 has 12 elements; under the guard the index (t / 4) * 4 counts as in [0, 11]: aligned, it is at
  // most 8 and its lanes end at 11; unaligned, lanes from 11 would reach 14
  const at = imul(idiv(iv('t'), ic(4)), ic(4));
  const guarded = (aligned: boolean): Kernel => kernel([loop('t', 16, [{ k: 'guard', bounds: [{ index: at, extent: 12 }], body: [
    { k: 'let', name: 'x', value: vload('in0', at, 'f32', 4, aligned) },
    { k: 'store', buffer: 'out0', index: idiv(iv('t'), ic(4)), value: lane(vref('x', 'f32', 4), ic(0)) },
  ] }])]);
  assert.equal(kernelIssues(guarded(true)), []);
  fails(guarded(false), 'bounds', "4 lanes from index t / 4 * 4 of 'in0' span [0, 14], outside [0, 12)");
});

test('printer and C: vector types, loads, stores, broadcasts and lanes', () => {
  const k = vectorKernel({ extra: [{ k: 'store', buffer: 'out0', index: iv('i'), value: lane(vref('v', 'f32', 4), ic(3)) }] });
  const text = printKernel(k);
  assert.match(text, 'acc v: f32x4 = bcast<4>(0) (add)');
  assert.match(text, 'let x: f32x4 = vload<4>(in0[j * 4])');
  assert.match(text, 'v += mul(bcast<4>(2), x)');
  assert.match(text, 'vstore<4>(out0[i * 4]) = v');
  assert.match(text, 'out0[i] = lane(v, 3)');
  const src = renderProgram(C, { name: 'vec', kernels: [k], buffers: [{ value: 'x', dtype: 'f32', count: 12, kind: 'input' }, { value: 'y', dtype: 'f32', count: 4, kind: 'output' }], calls: [{ kernel: 'k0_test', args: ['x', 'y'] }] });
  assert.match(src, 'typedef float kiln_f32x4 __attribute__((vector_size(16), aligned(4), may_alias));');
  assert.match(src, 'kiln_f32x4 v = ((0.0f) - (kiln_f32x4){0});');
  assert.match(src, 'const kiln_f32x4 x = (*(const kiln_f32x4 *)&in0[j * 4]);');
  assert.match(src, '*(kiln_f32x4 *)&out0[i * 4] = v;');
  assert.match(src, 'out0[i] = v[3];');
  const cc = compileC(src, 'vectors');
  if (cc) assert.ok(cc.ok, cc.log);
});

/** A one-warp GPU kernel: an f32 × 4 accumulator, an mma<m16n8k8.tf32> over loads of in0, the result stored. */
function warpKernel(body: (t: ReturnType<typeof iv>) => Stmt[], shared: BufferDecl[] = []): Kernel {
  const A: BufferDecl = { name: 'in0', dtype: 'f32', count: 256, role: 'input' }, O: BufferDecl = { name: 'out0', dtype: 'f32', count: 128, role: 'output' };
  return kernel([loop('t', 32, body(iv('t')), [{ kind: 'block', axis: 0 }])], [A, O], { shared, launch: { grid: [1, 1, 1], block: [32, 1, 1] } });
}
const accDecl = (name = 'c', lanes = 4): Stmt => ({ k: 'acc', name, dtype: 'f32', combine: 'add', init: broadcast(lit(0, 'f32'), lanes), lanes });
const frag = (t: ReturnType<typeof iv>, n: number) => Array.from({ length: n }, (_, i) => load('in0', iadd(imul(t, ic(4)), ic(i)), 'f32'));
const storeAcc = (t: ReturnType<typeof iv>): Stmt => ({ k: 'store', buffer: 'out0', index: imul(t, ic(4)), value: vref('c', 'f32', 4) });

test('mma: a warp-level mma with the shape\'s fragments is valid and prints; wrong fragments, accumulators and guards fail', () => {
  const ok = warpKernel((t) => [accDecl(), { k: 'mma', shape: 'm16n8k8.tf32', acc: 'c', a: frag(t, 4), b: frag(t, 2) }, storeAcc(t)]);
  assert.equal(kernelIssues(ok), []);
  assert.match(printKernel(ok), 'c += mma<m16n8k8.tf32>([in0[t * 4], in0[t * 4 + 1], in0[t * 4 + 2], in0[t * 4 + 3]], [in0[t * 4], in0[t * 4 + 1]])');
  assert.throws(() => renderKernel(C, ok), /the c target has no tensor-core mma/);
  fails(warpKernel((t) => [accDecl(), { k: 'mma', shape: 'm16n8k8.tf32', acc: 'c', a: frag(t, 3), b: frag(t, 2) }, storeAcc(t)]), 'mma', 'A fragment has 3 element(s), the shape takes 4');
  fails(warpKernel((t) => [accDecl(), { k: 'mma', shape: 'm16n8k16.f16', acc: 'c', a: frag(t, 8), b: frag(t, 4) }, storeAcc(t)]), 'dtype', 'A element is f32, the shape takes f16');
  fails(warpKernel((t) => [accDecl('c', 2), { k: 'mma', shape: 'm16n8k8.tf32', acc: 'c', a: frag(t, 4), b: frag(t, 2) }]), 'mma', 'the accumulator must be f32 with 4 lanes and combine add');
  fails(warpKernel((t) => [accDecl(), { k: 'guard', bounds: [{ index: t, extent: 16 }], body: [{ k: 'mma', shape: 'm16n8k8.tf32', acc: 'c', a: frag(t, 4), b: frag(t, 2) }] }, storeAcc(t)]), 'mma', 'under a guard');
  fails(kernel([accDecl(), { k: 'mma', shape: 'm16n8k8.tf32', acc: 'c', a: frag(ic(0) as never, 4), b: frag(ic(0) as never, 2) }]), 'mma', 'in a kernel without a GPU launch');
});

test('async: a cp.async copy from an input into shared memory, committed and waited, is valid and prints; wrong buffers, sizes and alignment fail', () => {
  const S: BufferDecl = { name: 'sh', dtype: 'f32', count: 128, role: 'shared' };
  const copy = (t: ReturnType<typeof iv>, over: Partial<Extract<Stmt, { k: 'copy_async' }>> = {}): Stmt => ({
    k: 'copy_async', dtype: 'f32', to: 'sh', toIndex: imul(t, ic(4)), from: 'in0', fromIndex: iadd(imul(t, ic(4)), ic(64)), lanes: 4,
    bounds: [{ index: iadd(imul(t, ic(4)), ic(64)), extent: 200 }], ...over,
  });
  const tail: Stmt[] = [{ k: 'async_commit' }, { k: 'async_wait', pending: 0 }, { k: 'barrier' }];
  const ok = warpKernel((t) => [copy(t), ...tail], [S]);
  assert.equal(kernelIssues(ok), []);
  assert.match(printKernel(ok), 'copy_async<4>(sh[t * 4], in0[t * 4 + 64]) when 0 <= t * 4 + 64 < 200 else 0\n    async_commit\n    async_wait 0');
  fails(warpKernel((t) => [copy(t, { to: 'out0' }), ...tail], [S]), 'async', "the destination 'out0' is not a shared buffer");
  fails(warpKernel((t) => [copy(t, { lanes: 3, toIndex: imul(t, ic(3)), fromIndex: imul(t, ic(3)) }), ...tail], [S]), 'async', 'copies 12 bytes');
  fails(warpKernel((t) => [copy(t, { toIndex: iadd(imul(t, ic(4)), ic(1)) }), ...tail], [S]), 'async', 'is not provably a multiple of 4');
  fails(warpKernel((t) => [copy(t, { fromIndex: iadd(imul(t, ic(4)), ic(192)), bounds: [] }), ...tail], [S]), 'bounds', 'in0');
  fails(warpKernel((t) => [copy(t), { k: 'async_wait', pending: -1 }], [S]), 'async', 'not a count of groups');
});

test('ldmatrix: a warp load of 8×8 f16 matrices from shared memory binds 2-lane registers; misaligned rows, wrong buffers and guards fail', () => {
  const S: BufferDecl = { name: 'sh', dtype: 'f16', count: 512, role: 'shared' };
  const O: BufferDecl = { name: 'out0', dtype: 'f16', count: 64, role: 'output' };
  const k = (index: (t: ReturnType<typeof iv>) => ReturnType<typeof iv>, wrap = (x: Stmt[], _t: ReturnType<typeof iv>) => x, buffer = 'sh'): Kernel => kernel([loop('t', 32, ((t) => wrap([
    { k: 'ldmatrix', names: ['r0', 'r1'], dtype: 'f16', buffer, index: index(t) },
    { k: 'store', buffer: 'out0', index: imul(t, ic(2)), value: vref('r1', 'f16', 2) },
  ], t))(iv('t')), [{ kind: 'block', axis: 0 }])], [O], { shared: [S], launch: { grid: [1, 1, 1], block: [32, 1, 1] } });
  const ok = k((t) => imul(imod(t, ic(16)), ic(8)));
  assert.equal(kernelIssues(ok), []);
  assert.match(printKernel(ok), 'let r0, r1: f16x2 = ldmatrix<2>(sh[t % 16 * 8])');
  fails(k((t) => iadd(imul(t, ic(8)), ic(4))), 'mma', 'is not provably a multiple of 8');
  fails(k((t) => iadd(imul(t, ic(16)), ic(16))), 'bounds', 'sh');
  fails(k((t) => imul(imod(t, ic(16)), ic(8)), (x, t) => [{ k: 'guard', bounds: [{ index: t, extent: 8 }], body: x }]), 'mma', 'under a guard');
});

test.run();
