/**
 * Argument templates for the command target: `"--replicas={{replicas}}"`. Pure: values in,
 * values out.
 *
 * Not the policy's `parseTemplate` (src/policy/selector.ts), on purpose: that one accepts
 * only label names (no `target.name`), refuses to render an empty value (a command may
 * legitimately get an empty namespace) and rejects a stray `}}` (which a JSON argument such
 * as `{"a":{"b":1}}` contains). Here only `{{` opens a placeholder, its name must be one of a
 * closed list, and a literal `{{` cannot be written: a command argument never needs one, and
 * treating it as a typo catches `{{replica}}` at load instead of running `--n={{replica}}`.
 */

/** A parsed template: literal text and placeholders, in order. */
export type TemplatePart<Name extends string> =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'placeholder'; readonly name: Name };

/** A template as written and its parsed parts. */
export interface ArgTemplate<Name extends string> {
  readonly source: string;
  readonly parts: readonly TemplatePart<Name>[];
}

/**
 * Parses `template`; placeholders are `{{name}}` (spaces inside the braces allowed) where
 * `name` is one of `names`. Returns the error text instead of throwing, so a config loader
 * can report it with every other issue.
 */
export function parseArgTemplate<Name extends string>(
  template: string,
  names: readonly Name[],
): { ok: true; value: ArgTemplate<Name> } | { ok: false; error: string } {
  const parts: TemplatePart<Name>[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open === -1) {
      parts.push({ kind: 'text', text: rest });
      break;
    }
    if (open > 0) parts.push({ kind: 'text', text: rest.slice(0, open) });
    const close = rest.indexOf('}}', open + 2);
    if (close === -1) return { ok: false, error: '"{{" without a closing "}}"' };
    const name = rest.slice(open + 2, close).trim();
    const known = names.find((candidate) => candidate === name);
    if (known === undefined) {
      return {
        ok: false,
        error: `unknown placeholder "${rest.slice(open, close + 2)}"; known: ${names.map((n) => `{{${n}}}`).join(' ')}`,
      };
    }
    parts.push({ kind: 'placeholder', name: known });
    rest = rest.slice(close + 2);
  }
  return { ok: true, value: { source: template, parts } };
}

/**
 * Renders a parsed template. Every value is inserted verbatim (no quoting, no escaping): the
 * result is one argv element, never shell input.
 */
export function renderArgTemplate<Name extends string>(
  template: ArgTemplate<Name>,
  values: Readonly<Record<Name, string>>,
): string {
  let out = '';
  for (const part of template.parts) {
    out += part.kind === 'text' ? part.text : values[part.name];
  }
  return out;
}

/** True when `template` refers to the placeholder `name`. */
export function usesPlaceholder<Name extends string>(
  template: ArgTemplate<Name>,
  name: Name,
): boolean {
  return template.parts.some((part) => part.kind === 'placeholder' && part.name === name);
}
