/**
 * Model-local functions (ModelProto.functions) inlined at import: a node whose (domain, op_type)
 * names a function of the model is replaced by the function's body, so the graph IR only ever holds
 * registered ops. Per call:
 *   - the function's formal inputs are the call's actual inputs (a missing optional input is ''),
 *     its formal outputs the call's outputs; every other value of the body gets a name unique to the
 *     call, `<call>/<function>/<value>` (a formal output the call leaves out is such a value too);
 *   - an attribute of a body node that refers to a function attribute (`ref_attr_name`) takes the
 *     call's attribute of that name, else the function's default (`attribute_proto`), else it is left
 *     out (the op's own default applies);
 *   - each body node is named `<call>/<function>/<node>`: its provenance (the IR node's `loc`) names
 *     the call site and the function;
 *   - a body node that calls a model-local function is inlined in turn; a function that reaches
 *     itself is an error naming the chain.
 * A function must import the same ai.onnx opset as the model (the body's ops are read with the
 * model's version); anything else is a problem naming the function.
 */
import type { AttributeProto, ModelProto, NodeProto } from './schema.ts';

const key = (domain: string | undefined, name: string | undefined) => `${domain === 'ai.onnx' ? '' : domain ?? ''}:${name ?? ''}`;

/** The nodes of a graph with every call of a model-local function inlined (module header); problems are appended. */
export function inlineFunctions(nodes: readonly NodeProto[], model: ModelProto, problems: string[]): NodeProto[] {
  const functions = new Map((model.functions ?? []).map((f) => [key(f.domain, f.name), f]));
  if (!functions.size) return [...nodes];
  const modelOnnx = (model.opset_import ?? []).find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')?.version;
  for (const f of functions.values()) {
    const v = (f.opset_import ?? []).find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')?.version;
    if (v !== undefined && modelOnnx !== undefined && Number(v) !== Number(modelOnnx)) {
      problems.push(`model-local function '${f.name}' imports ai.onnx opset ${v} but the model imports ${modelOnnx}; kiln reads a function's body with the model's opset`);
    }
  }
  const out: NodeProto[] = [];
  const expand = (n: NodeProto, index: number, chain: readonly string[]): void => {
    const f = functions.get(key(n.domain, n.op_type));
    if (!f) { out.push(n); return; }
    const call = n.name || `${n.op_type}_${index}`;
    if (chain.includes(f.name ?? '')) {
      problems.push(`node '${call}': model-local function '${f.name}' calls itself (${[...chain, f.name].join(' → ')})`);
      return;
    }
    const formalIn = f.input ?? [], formalOut = f.output ?? [];
    if ((n.input ?? []).length > formalIn.length || (n.output ?? []).length > formalOut.length) {
      problems.push(`node '${call}': calls function '${f.name}' with ${(n.input ?? []).length} inputs and ${(n.output ?? []).length} outputs; it takes ${formalIn.length} and gives ${formalOut.length}`);
      return;
    }
    const prefix = `${call}/${f.name}/`;
    const rename = new Map<string, string>();
    formalIn.forEach((x, i) => rename.set(x, n.input?.[i] ?? ''));
    formalOut.forEach((x, i) => { const actual = n.output?.[i]; rename.set(x, actual ? actual : prefix + x); });
    const valueOf = (x: string) => (x === '' ? '' : rename.get(x) ?? prefix + x);
    const callAttrs = new Map((n.attribute ?? []).map((a) => [a.name ?? '', a]));
    const defaults = new Map((f.attribute_proto ?? []).map((a) => [a.name ?? '', a]));
    const bindAttr = (a: AttributeProto): AttributeProto | undefined => {
      if (!a.ref_attr_name) return a;
      const given = callAttrs.get(a.ref_attr_name) ?? defaults.get(a.ref_attr_name);
      return given ? { ...given, name: a.name } : undefined;
    };
    (f.node ?? []).forEach((b, j) => {
      const inner: NodeProto = {
        ...b,
        name: `${prefix}${b.name || `${b.op_type}_${j}`}`,
        input: (b.input ?? []).map(valueOf),
        output: (b.output ?? []).map(valueOf),
        attribute: (b.attribute ?? []).flatMap((a) => bindAttr(a) ?? []),
      };
      expand(inner, j, [...chain, f.name ?? '']);
    });
  };
  nodes.forEach((n, i) => expand(n, i, []));
  return out;
}
