/**
 * Lexical rules of the `.kir` text shared by the printer (print.ts) and the parser (parse.ts): how
 * names are spelled (bare or quoted), how floats print, and how tensor elements of every dtype are
 * written and read back exactly.
 *
 * Floats print as the shortest decimal that reads back to the same stored value: for an f32 value the
 * shortest digit string s with `Math.fround(Number(s)) === v`, for f64 the shortest with
 * `Number(s) === v`, and for the encoded types (f16, bf16, float8, float4) the shortest whose
 * re-encoding gives the same code. Digits are laid out positionally when the decimal exponent is in
 * [-4, 16) (`0.001`, `100.0`) and in exponent form otherwise (`1e-5`, `3.4028235e38`); a float always
 * has a `.` or an `e`, or is `inf`, `-inf` or `nan`, so it never reads as an int. Element values that no
 * decimal can reproduce (NaN payloads, a non-canonical or negative NaN, codes of a format whose codec is
 * not registered) print as their raw bit pattern in hex (`0x7fc00001`, `0x7e01`).
 */
import { type DType, type TensorData, dtypeInfo, isBigIntType } from './dtype.ts';
import { narrowFloatCodec, type NarrowFloatCodec } from './floatbits.ts';
import type { Tensor } from './tensor.ts';

/** Characters of an unquoted value or graph name (`%conv1.weight`, `@resnet50`). */
export const VALUE_NAME = /^[A-Za-z0-9_.$-]+$/;
/** An unquoted op name, attribute name or symbolic dim (`Conv`, `kiln.fused`, `kernel_shape`, `N`). */
export const BARE_WORD = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** A string literal: JSON syntax and escapes. */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/** `%name`, or `%"odd name"` when the name has characters outside [A-Za-z0-9_.$-]. */
export function formatValueName(name: string, sigil = '%'): string {
  return sigil + (VALUE_NAME.test(name) ? name : quote(name));
}

/** A bare word, or a quoted string when it is not one (`Conv`, `"const"`, `"batch size"`). */
export function formatWord(word: string, reserved: readonly string[] = []): string {
  return BARE_WORD.test(word) && !reserved.includes(word) ? word : quote(word);
}

/** Lays out `d.ddde±x` (from toExponential) as the canonical float spelling, without sign. */
function layout(exponential: string): string {
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(exponential);
  if (!m) return exponential;
  const digits = (m[1] + (m[2] ?? '')).replace(/0+$/, '');
  if (digits === '') return '0.0';
  const exp = Number(m[3]);
  if (exp >= -4 && exp < 16) {
    if (exp >= digits.length - 1) return digits + '0'.repeat(exp - digits.length + 1) + '.0';
    if (exp >= 0) return digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
    return '0.' + '0'.repeat(-exp - 1) + digits;
  }
  return digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '') + 'e' + exp;
}

/**
 * The shortest canonical spelling of `value` for which `readsBack(Number(spelling))` holds (tries 1 to
 * 17 significant digits; the 17-digit form is returned if none does). Non-finite values print as
 * `nan`, `inf`, `-inf` without a check.
 */
export function formatFloat(value: number, readsBack: (x: number) => boolean): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const abs = Math.abs(value);
  let s = '';
  for (let p = 1; p <= 17; p++) {
    s = sign + layout(abs.toExponential(p - 1));
    if (readsBack(Number(s))) return s;
  }
  return s;
}

/** Shortest spelling of an f32 value (the value is rounded to f32 first). */
export function formatF32(value: number): string {
  const v = Math.fround(value);
  return formatFloat(v, (x) => Object.is(Math.fround(x), v));
}

/** Shortest spelling of an f64 value. */
export function formatF64(value: number): string {
  return formatFloat(value, (x) => Object.is(x, value));
}

/** True if a number literal's text is float syntax (has `.` or an exponent, or is inf/nan). */
export function isFloatSyntax(text: string): boolean {
  return /^-?(inf|nan)$/.test(text) || (!/^-?0x/i.test(text) && /[.eE]/.test(text));
}

/** The value of a float literal (`1.5`, `-2e-3`, `inf`, `-inf`, `nan`, or an integer). */
export function floatValue(text: string): number {
  if (text === 'nan' || text === '-nan') return NaN;
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  return Number(text);
}

const CANON_F32_NAN = new Uint32Array(new Float32Array([NaN]).buffer)[0];
const CANON_F64_NAN = new BigUint64Array(new Float64Array([NaN]).buffer)[0];

function hex(code: number | bigint, digits: number): string {
  return '0x' + code.toString(16).padStart(digits, '0');
}

function tryCodec(dtype: DType): NarrowFloatCodec | undefined {
  try {
    return narrowFloatCodec(dtype);
  } catch {
    return undefined;
  }
}

/** Hex digits of the bit pattern of one element of an encoded float dtype. */
function codeDigits(dtype: DType): number {
  return Math.ceil(dtypeInfo(dtype).bits / 4);
}

/**
 * Every element of a tensor as its `.kir` literal: exact decimals for floats (hex bits where no decimal
 * is exact), integers (bigint for i64/u64), `true`/`false`, JSON strings.
 */
export function formatElements(t: Tensor): string[] {
  const { dtype } = t;
  const d = t.data;
  const n = d.length;
  const out = new Array<string>(n);
  if (dtype === 'str') {
    for (let i = 0; i < n; i++) out[i] = quote(String((d as string[])[i]));
  } else if (dtype === 'bool') {
    for (let i = 0; i < n; i++) out[i] = (d as Uint8Array)[i] ? 'true' : 'false';
  } else if (d instanceof Float32Array) {
    const bits = new Uint32Array(d.buffer, d.byteOffset, n);
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(d[i])) out[i] = formatF32(d[i]);
      else out[i] = bits[i] === CANON_F32_NAN ? 'nan' : hex(bits[i], 8);
    }
  } else if (d instanceof Float64Array) {
    const bits = new BigUint64Array(d.buffer, d.byteOffset, n);
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(d[i])) out[i] = formatF64(d[i]);
      else out[i] = bits[i] === CANON_F64_NAN ? 'nan' : hex(bits[i], 16);
    }
  } else if (dtypeInfo(dtype).encoded) {
    const codes = d as Uint8Array | Uint16Array;
    const codec = tryCodec(dtype);
    const width = codeDigits(dtype);
    for (let i = 0; i < n; i++) {
      const code = codes[i];
      let s = hex(code, width);
      if (codec) {
        const v = codec.decode(code);
        const spelled = formatFloat(v, (x) => codec.encode(x, false) === code);
        if (codec.encode(floatValue(spelled), false) === code) s = spelled;
      }
      out[i] = s;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = String((d as ArrayLike<number | bigint>)[i]);
  }
  return out;
}

/** One literal read from the text, as the parser saw it. */
export interface Literal {
  /** 'number' covers ints, floats, hex and `-inf`; 'word' covers `inf`, `nan`, `true`, `false`. */
  readonly kind: 'number' | 'word' | 'string';
  /** Source text (for 'string': the decoded string). */
  readonly text: string;
}

/** Inclusive value range of a non-bigint integer dtype. */
function intRange(dtype: DType): [number, number] {
  const { bits, signed } = dtypeInfo(dtype);
  return signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

/** Storage being filled from literals; `put` returns an error message or undefined. */
export interface ElementSink {
  readonly data: TensorData;
  put(i: number, lit: Literal): string | undefined;
}

/** A sink that fills storage for `n` elements of `dtype` from literals, checking kinds and ranges. */
export function elementSink(dtype: DType, n: number): ElementSink {
  const data = dtypeInfo(dtype).alloc(n);
  const info = dtypeInfo(dtype);
  const isHex = (l: Literal) => l.kind === 'number' && /^0x[0-9a-f]+$/i.test(l.text);
  const floatOf = (l: Literal): number | undefined => {
    if (l.kind === 'word' && (l.text === 'inf' || l.text === 'nan')) return floatValue(l.text);
    if (l.kind === 'number' && !/0x/i.test(l.text)) return floatValue(l.text);
    return undefined;
  };
  const hexCode = (l: Literal, digits: number): bigint | undefined =>
    isHex(l) && l.text.length - 2 <= digits ? BigInt(l.text) : undefined;
  const put = (i: number, lit: Literal): string | undefined => {
    if (dtype === 'str') {
      if (lit.kind !== 'string') return `expected a string element of ${dtype}`;
      (data as string[])[i] = lit.text;
    } else if (dtype === 'bool') {
      if (lit.kind !== 'word' || (lit.text !== 'true' && lit.text !== 'false')) return 'expected true or false';
      (data as Uint8Array)[i] = lit.text === 'true' ? 1 : 0;
    } else if (data instanceof Float32Array || data instanceof Float64Array) {
      const wide = data instanceof Float64Array;
      if (isHex(lit)) {
        const code = hexCode(lit, wide ? 16 : 8);
        if (code === undefined) return `hex bit pattern too wide for ${dtype}`;
        if (wide) new BigUint64Array(data.buffer, data.byteOffset, data.length)[i] = code;
        else new Uint32Array(data.buffer, data.byteOffset, data.length)[i] = Number(code);
      } else {
        const v = floatOf(lit);
        if (v === undefined) return `expected a number element of ${dtype}`;
        data[i] = v;
      }
    } else if (info.encoded) {
      const codes = data as Uint8Array | Uint16Array;
      if (isHex(lit)) {
        const code = hexCode(lit, codeDigits(dtype));
        if (code === undefined || code >= 2n ** BigInt(info.bits)) return `hex code too wide for ${dtype}`;
        codes[i] = Number(code);
      } else {
        const v = floatOf(lit);
        if (v === undefined) return `expected a number element of ${dtype}`;
        let codec: NarrowFloatCodec;
        try {
          codec = narrowFloatCodec(dtype);
        } catch {
          return `no codec is registered for ${dtype}; write its elements as hex codes`;
        }
        codes[i] = codec.encode(v, false);
      }
    } else {
      if (lit.kind !== 'number' || !/^-?\d+$/.test(lit.text)) return `expected an integer element of ${dtype}`;
      if (isBigIntType(dtype)) {
        const v = BigInt(lit.text);
        const fits = dtype === 'i64' ? BigInt.asIntN(64, v) === v : BigInt.asUintN(64, v) === v;
        if (!fits) return `value out of range for ${dtype}`;
        (data as BigInt64Array | BigUint64Array)[i] = v;
      } else {
        const v = Number(lit.text);
        const [lo, hi] = intRange(dtype);
        if (!(v >= lo && v <= hi)) return `value out of range for ${dtype}`;
        (data as Int32Array)[i] = v;
      }
    }
    return undefined;
  };
  return { data, put };
}
