/**
 * Building the page without parsing markup: every string becomes a text node or an attribute
 * value, never HTML. The pages' content security policy (Trusted Types with no policy) makes
 * the HTML sinks throw, so text from the API, and above all what receivers answered, can only
 * ever be shown as characters.
 */

/** What `h` accepts as a child: nodes as they are, strings and numbers as text. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes of `h`: `text` sets the text, `on*` adds a listener, the rest are attributes. */
export type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** Builds an element; strings become text nodes, nothing here ever parses markup. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node: Node & ParentNode, children: readonly Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** The element with this id, of the type the page's HTML gives it (a missing one is a bug). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

/** The current value of a form control, trimmed. */
export const fieldValue = (id: string): string => byId<HTMLInputElement | HTMLSelectElement>(id).value.trim();
