/**
 * Identifiers for the WGSL descriptor (wgsl.ts): the renderer prints kernel IR names as they are, so the
 * descriptor checks each name it declares. WGSL keywords and reserved words are refused everywhere; the
 * predeclared names the generated code calls (builtins, types, the entry's parameters) are refused at
 * module scope only, where shadowing one would break the helpers.
 */

/** WGSL keywords and reserved words: no kernel IR name may be one (the renderer prints names as they are). */
const RESERVED: ReadonlySet<string> = new Set((
  'alias break case const const_assert continue continuing default diagnostic discard else enable false fn for if let loop override '
  + 'requires return struct switch true var while NULL Self abstract active alignas alignof as asm asm_fragment async attribute auto '
  + 'await become binding_array cast catch class co_await co_return co_yield coherent column_major common compile compile_fragment '
  + 'concept const_cast consteval constexpr constinit crate debugger decltype delete demote demote_to_helper do dynamic_cast enum '
  + 'explicit export extends extern external fallthrough filter final finally friend from fxgroup get goto groupshared highp impl '
  + 'implements import inline instanceof interface layout lowp macro macro_rules match mediump meta mod module move mut mutable '
  + 'namespace new nil noexcept noinline nointerpolation noperspective null nullptr of operator package packoffset partition pass '
  + 'patch pixelfragment precise precision premerge priv protected pub public readonly ref regardless register reinterpret_cast '
  + 'require resource restrict self set shared sizeof smooth snorm static static_assert static_cast std subroutine super target '
  + 'template this thread_local throw trait try type typedef typeid typename typeof union unless unorm unsafe unsized use using '
  + 'varying virtual volatile wgsl where with writeonly yield'
).split(' '));

/**
 * Predeclared names the generated code calls (builtins, types, the entry's parameters): a module-scope
 * name (kernel, buffer) may not shadow them; a function-scope one (let, accumulator, loop variable,
 * private buffer) may, as WGSL allows (winograd's `u32` tile element), unless the kernel uses the
 * builtin after it in that scope, which Dawn reports.
 */
const PREDECLARED: ReadonlySet<string> = new Set((
  'exp log sqrt sin cos floor ceil round abs select bitcast trunc clamp frexp ldexp pow tanh max min all any countLeadingZeros '
  + 'pack2x16float unpack2x16float workgroupBarrier f32 f16 i32 u32 bool vec2 vec3 vec4 array wid lid nwg'
).split(' '));

/** `name`, or an error when WGSL cannot use it as an identifier (at module scope: `global`). */
export function ident(name: string, global = false): string {
  if (RESERVED.has(name) || (global && PREDECLARED.has(name)) || name.startsWith('__') || name.startsWith('kiln_') || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new Error(`WGSL cannot name a ${global ? 'kernel or buffer' : 'variable'} '${name}' (a WGSL reserved word${global ? ', a builtin the code calls' : ''}, kiln_ or __, or not an identifier)`);
  }
  return name;
}
