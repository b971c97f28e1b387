/**
 * Label matching and target templates for healing policies. Pure: values in, values out.
 *
 * Matching follows PromQL selector semantics so that operators who write Prometheus alert
 * rules get no surprises: a missing label is the same as an empty one, and regular
 * expressions must match the whole value (they are anchored as `^(?:…)$`).
 */

/** A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One compiled equality matcher: `label="value"` (`=`) or `label!="value"` (`!=`). */
export interface EqualityMatcher {
  readonly label: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

/**
 * One compiled regex matcher: `label=~"re"` (`=~`) or `label!~"re"` (`!~`). `value` is the
 * regex as written; `regex` is its anchored, compiled form.
 */
export interface RegexMatcher {
  readonly label: string;
  readonly op: '=~' | '!~';
  readonly value: string;
  readonly regex: RegExp;
}

/** One compiled label matcher, as produced by the policy schema. */
export type LabelMatcher = EqualityMatcher | RegexMatcher;

/**
 * A compiled selector: every matcher must hold (logical AND). Empty matches every series.
 */
export type Selector = readonly LabelMatcher[];

/**
 * Compiles `source` with full-match semantics. Returns the error text instead of throwing,
 * because a bad regex in a policy file is reported together with every other problem.
 */
export function compileAnchoredRegex(
  source: string,
): { ok: true; regex: RegExp } | { ok: false; error: string } {
  try {
    // Compile the bare source first: only a source that is valid on its own can be wrapped
    // safely (`a)|(b` would otherwise turn into a different, valid pattern).
    new RegExp(source);
    return { ok: true, regex: new RegExp(`^(?:${source})$`) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // V8 repeats the pattern in its message; the caller shows the value anyway.
    return {
      ok: false,
      error: message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ''),
    };
  }
}

/**
 * True when `labels` satisfy every matcher of `selector`. A label absent from `labels` is
 * treated as the empty string (PromQL semantics), so `{ env: { not: 'prod' } }` matches a
 * series without an `env` label.
 */
export function matchesSelector(
  selector: Selector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const matcher of selector) {
    const actual = Object.hasOwn(labels, matcher.label) ? (labels[matcher.label] ?? '') : '';
    let matched: boolean;
    switch (matcher.op) {
      case '=':
        matched = actual === matcher.value;
        break;
      case '!=':
        matched = actual !== matcher.value;
        break;
      case '=~':
        matched = matcher.regex.test(actual);
        break;
      case '!~':
        matched = !matcher.regex.test(actual);
        break;
    }
    if (!matched) return false;
  }
  return true;
}

/** A parsed template: literal text and `{{label}}` placeholders, in order. */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'label'; readonly label: string };

/** True when a target name or namespace holds a `{{label}}` placeholder (a template). */
export function hasPlaceholder(text: string | undefined): boolean {
  return text !== undefined && text.includes('{{');
}

/**
 * Parses a target template such as `"{{service}}-canary"`. Placeholders are `{{name}}` with
 * optional spaces inside the braces; `name` must be a Prometheus label name. There is no
 * escape for literal braces: Kubernetes and most orchestrators forbid braces in names anyway,
 * so a stray `{{` or `}}` is far more likely a typo than intent, and it is reported.
 */
export function parseTemplate(
  template: string,
): { ok: true; parts: TemplatePart[] } | { ok: false; error: string } {
  const parts: TemplatePart[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    const strayClose = rest.indexOf('}}');
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      return { ok: false, error: '"}}" without a matching "{{"' };
    }
    if (open === -1) {
      parts.push({ kind: 'text', text: rest });
      break;
    }
    if (open > 0) parts.push({ kind: 'text', text: rest.slice(0, open) });
    const close = rest.indexOf('}}', open + 2);
    if (close === -1) return { ok: false, error: '"{{" without a closing "}}"' };
    const label = rest.slice(open + 2, close).trim();
    if (!LABEL_NAME_RE.test(label)) {
      return {
        ok: false,
        error: `placeholder "${rest.slice(open, close + 2)}" must name a label ([a-zA-Z_][a-zA-Z0-9_]*)`,
      };
    }
    parts.push({ kind: 'label', label });
    rest = rest.slice(close + 2);
  }
  return { ok: true, parts };
}

/**
 * Fills the `{{label}}` placeholders of `template` from `labels`. Returns `undefined` when a
 * placeholder's label is missing or empty (an action aimed at `""` or a half-built name would
 * hit the wrong thing, so the caller must skip it and say why), or when the template is
 * malformed (the policy schema rejects those at load, so this only guards direct callers).
 */
export function renderTemplate(
  template: string,
  labels: Readonly<Record<string, string>>,
): string | undefined {
  const parsed = parseTemplate(template);
  if (!parsed.ok) return undefined;
  let out = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const value = Object.hasOwn(labels, part.label) ? labels[part.label] : undefined;
    if (value === undefined || value === '') return undefined;
    out += value;
  }
  return out;
}

/** The label names a template refers to, in order of first use (for warnings and docs). */
export function templateLabels(template: string): string[] {
  const parsed = parseTemplate(template);
  if (!parsed.ok) return [];
  const names: string[] = [];
  for (const part of parsed.parts) {
    if (part.kind === 'label' && !names.includes(part.label)) names.push(part.label);
  }
  return names;
}
