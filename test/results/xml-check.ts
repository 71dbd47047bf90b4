/**
 * A small XML well-formedness checker for tests of generated SVG: one root element, every tag
 * closed in order, attributes quoted and unique with no raw `<` in their values, every `&` starting a
 * known or numeric entity, no raw `<`/`&` in text, no characters XML forbids. It returns the elements
 * found (name, attributes, text directly inside) so tests can count and inspect them. Not a full XML
 * parser: no DTDs, no CDATA; processing instructions and comments are skipped.
 */

/** One element of the parsed document. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** Unescaped text directly inside (not in child elements). */
  text: string;
  readonly parent?: XmlElement;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

function unescape(s: string, where: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '<') throw new Error(`raw '<' in ${where}`);
    if (c === '&') {
      const m = ENTITY.exec(s.slice(i));
      if (!m) throw new Error(`bad entity in ${where}: ${JSON.stringify(s.slice(i, i + 12))}`);
      const e = m[1];
      out += e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'"
        : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
      i += m[0].length - 1;
    } else out += c;
  }
  return out;
}

/** Checks that `doc` is well-formed XML; throws an Error saying where it is not. Returns every element. */
export function checkXml(doc: string): XmlElement[] {
  if (FORBIDDEN.test(doc)) throw new Error('a character XML forbids');
  const all: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let roots = 0, i = 0;
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (text.trim() !== '') {
      if (!stack.length) throw new Error(`text outside the root element: ${JSON.stringify(text.slice(0, 40))}`);
      stack[stack.length - 1].text += unescape(text, `text of <${stack[stack.length - 1].name}>`);
    } else if (text.includes('&')) unescape(text, 'whitespace');
    if (lt < 0) break;
    if (doc.startsWith('<!--', lt)) {
      const end = doc.indexOf('-->', lt + 4);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
      continue;
    }
    if (doc.startsWith('<?', lt)) {
      const end = doc.indexOf('?>', lt + 2);
      if (end < 0) throw new Error('unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (doc[lt + 1] === '/') {
      const gt = doc.indexOf('>', lt);
      if (gt < 0) throw new Error('unterminated end tag');
      const name = doc.slice(lt + 2, gt).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}>`);
      i = gt + 1;
      continue;
    }
    // Start tag: name, attributes, then > or />.
    let j = lt + 1;
    const nm = NAME.exec(doc.slice(j));
    if (!nm) throw new Error(`bad tag name at ${lt}: ${JSON.stringify(doc.slice(lt, lt + 20))}`);
    const name = nm[0];
    j += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(j))![0];
      j += ws.length;
      if (doc.startsWith('/>', j) || doc[j] === '>') break;
      if (!ws) throw new Error(`attributes of <${name}> need white space between them`);
      const an = NAME.exec(doc.slice(j));
      if (!an) throw new Error(`bad attribute in <${name}>: ${JSON.stringify(doc.slice(j, j + 20))}`);
      j += an[0].length;
      const q = /^\s*=\s*(["'])/.exec(doc.slice(j));
      if (!q) throw new Error(`attribute ${an[0]} of <${name}> is not quoted`);
      j += q[0].length;
      const close = doc.indexOf(q[1], j);
      if (close < 0) throw new Error(`unterminated attribute ${an[0]} of <${name}>`);
      if (an[0] in attrs) throw new Error(`duplicate attribute ${an[0]} of <${name}>`);
      attrs[an[0]] = unescape(doc.slice(j, close), `attribute ${an[0]} of <${name}>`);
      j = close + 1;
    }
    const selfClosing = doc.startsWith('/>', j);
    const el: XmlElement = { name, attrs, text: '', parent: stack[stack.length - 1] };
    if (!stack.length) roots++;
    if (roots > 1) throw new Error('more than one root element');
    all.push(el);
    if (!selfClosing) stack.push(el);
    i = j + (selfClosing ? 2 : 1);
  }
  if (stack.length) throw new Error(`<${stack[stack.length - 1].name}> is never closed`);
  if (roots !== 1) throw new Error('no root element');
  return all;
}
