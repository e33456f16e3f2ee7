/**
 * A small XML reader for the files the portal imports (PSKC, RFC 6030): elements, attributes,
 * text, CDATA, comments and processing instructions. A document type declaration is refused
 * outright, so no entity can be declared: nothing is fetched (XXE) and nothing expands (billion
 * laughs). Only the five predefined entities and character references are read.
 */
export interface XmlElement {
  /** The local name, without its prefix. */
  name: string;
  /** The namespace URI of the element, from its prefix or the default namespace. */
  namespace: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The text directly inside the element, its children's left out. */
  text: string;
}

export class XmlError extends Error {
  override name = 'XmlError';
}

const predefined: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);|&/g, (match, ref?: string) => {
    if (ref === undefined) throw new XmlError('A bare "&" in the document');
    if (ref.startsWith('#')) {
      const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff)) throw new XmlError(`Bad character reference ${match}`);
      return String.fromCodePoint(code);
    }
    const value = predefined[ref];
    if (value === undefined) throw new XmlError(`Unknown entity ${match}`);
    return value;
  });
}

const namePattern = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/;
const attributePattern = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("[^"<]*"|'[^'<]*')/;

interface Open {
  qualified: string;
  element: XmlElement;
  scope: Map<string, string>;
}

/** The document's root element; an `XmlError` for anything that is not well-formed. */
export function parseXml(input: string, limits = { maxDepth: 64, maxElements: 200_000 }) {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let index = 0;

  const resolve = (qualified: string, scope: Map<string, string>, isAttribute: boolean) => {
    const colon = qualified.indexOf(':');
    const prefix = colon < 0 ? '' : qualified.slice(0, colon);
    const name = colon < 0 ? qualified : qualified.slice(colon + 1);
    if (isAttribute && prefix === '') return { name, namespace: '' };
    const namespace = scope.get(prefix);
    if (namespace === undefined && prefix !== '') {
      throw new XmlError(`Undeclared namespace prefix "${prefix}"`);
    }
    return { name, namespace: namespace ?? '' };
  };

  const addText = (raw: string) => {
    const top = stack.at(-1);
    if (!top) {
      if (raw.trim() !== '') throw new XmlError('Text outside the root element');
      return;
    }
    top.element.text += raw;
  };

  while (index < text.length) {
    const next = text.indexOf('<', index);
    if (next < 0) {
      addText(decodeEntities(text.slice(index)));
      break;
    }
    if (next > index) addText(decodeEntities(text.slice(index, next)));
    const rest = text.slice(next, next + 9);
    if (rest.startsWith('<!--')) {
      const end = text.indexOf('-->', next + 4);
      if (end < 0) throw new XmlError('A comment is never closed');
      index = end + 3;
    } else if (rest.startsWith('<![CDATA[')) {
      const end = text.indexOf(']]>', next + 9);
      if (end < 0) throw new XmlError('A CDATA section is never closed');
      addText(text.slice(next + 9, end));
      index = end + 3;
    } else if (rest.startsWith('<!')) {
      throw new XmlError('Document type declarations are not accepted');
    } else if (rest.startsWith('<?')) {
      const end = text.indexOf('?>', next + 2);
      if (end < 0) throw new XmlError('A processing instruction is never closed');
      index = end + 2;
    } else if (rest.startsWith('</')) {
      const end = text.indexOf('>', next);
      const qualified = text.slice(next + 2, end < 0 ? undefined : end).trim();
      const top = stack.pop();
      if (end < 0 || !top || top.qualified !== qualified) {
        throw new XmlError(`Unexpected closing tag </${qualified}>`);
      }
      index = end + 1;
    } else {
      let cursor = next + 1;
      const qualified = namePattern.exec(text.slice(cursor))?.[0];
      if (!qualified) throw new XmlError('A malformed tag');
      cursor += qualified.length;
      const raw: [string, string][] = [];
      for (;;) {
        const match = attributePattern.exec(text.slice(cursor, cursor + 100_000));
        if (!match) break;
        const [whole, attrName = '', quoted = ''] = match;
        raw.push([attrName, decodeEntities(quoted.slice(1, -1))]);
        cursor += whole.length;
      }
      const close = /^\s*(\/?)>/.exec(text.slice(cursor, cursor + 1000));
      if (!close) throw new XmlError(`A malformed tag <${qualified}>`);
      cursor += close[0].length;
      const scope = new Map(stack.at(-1)?.scope ?? []);
      for (const [attrName, value] of raw) {
        if (attrName === 'xmlns') scope.set('', value);
        else if (attrName.startsWith('xmlns:')) scope.set(attrName.slice(6), value);
      }
      const attributes: Record<string, string> = {};
      for (const [attrName, value] of raw) {
        if (attrName === 'xmlns' || attrName.startsWith('xmlns:')) continue;
        attributes[resolve(attrName, scope, true).name] = value;
      }
      const element: XmlElement = {
        ...resolve(qualified, scope, false),
        attributes,
        children: [],
        text: '',
      };
      count += 1;
      if (count > limits.maxElements) throw new XmlError('Too many elements');
      const parent = stack.at(-1);
      if (parent) parent.element.children.push(element);
      else if (root) throw new XmlError('More than one root element');
      else root = element;
      if (close[1] !== '/') {
        stack.push({ qualified, element, scope });
        if (stack.length > limits.maxDepth) throw new XmlError('Elements nested too deep');
      }
      index = cursor;
    }
  }
  if (stack.length > 0) throw new XmlError(`<${stack.at(-1)?.qualified ?? ''}> is never closed`);
  if (!root) throw new XmlError('No root element');
  return root;
}

/** The first child of `element` with this local name, whatever its namespace. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

/** The element at the end of a path of local names, from `element`. */
export function descend(element: XmlElement | undefined, ...names: string[]) {
  let current = element;
  for (const name of names) current = child(current, name);
  return current;
}

export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}
