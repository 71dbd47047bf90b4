/**
 * Codecs for the float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0) and float4 (e2m1) formats.
 * Placeholder registration order only; the codecs are filled in by the Cast family work.
 */
export {};
