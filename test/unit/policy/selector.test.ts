import { describe, expect, it } from 'vitest';
import {
  compileAnchoredRegex,
  matchesSelector,
  parseTemplate,
  renderTemplate,
  templateLabels,
  type LabelMatcher,
  type Selector,
} from '../../../src/policy/selector.js';

function re(label: string, op: '=~' | '!~', value: string): LabelMatcher {
  const compiled = compileAnchoredRegex(value);
  if (!compiled.ok) throw new Error(compiled.error);
  return { label, op, value, regex: compiled.regex };
}

describe('matchesSelector', () => {
  const cases: {
    name: string;
    selector: Selector;
    labels: Record<string, string>;
    want: boolean;
  }[] = [
    { name: 'empty selector matches anything', selector: [], labels: { a: '1' }, want: true },
    { name: 'empty selector matches no labels', selector: [], labels: {}, want: true },
    {
      name: 'exact match',
      selector: [{ label: 'service', op: '=', value: 'api' }],
      labels: { service: 'api', env: 'prod' },
      want: true,
    },
    {
      name: 'exact mismatch',
      selector: [{ label: 'service', op: '=', value: 'api' }],
      labels: { service: 'web' },
      want: false,
    },
    {
      name: 'exact on a missing label fails',
      selector: [{ label: 'service', op: '=', value: 'api' }],
      labels: {},
      want: false,
    },
    {
      name: 'exact "" matches a missing label (PromQL)',
      selector: [{ label: 'canary', op: '=', value: '' }],
      labels: { service: 'api' },
      want: true,
    },
    {
      name: 'not-equal matches a different value',
      selector: [{ label: 'env', op: '!=', value: 'dev' }],
      labels: { env: 'prod' },
      want: true,
    },
    {
      name: 'not-equal fails on the value',
      selector: [{ label: 'env', op: '!=', value: 'dev' }],
      labels: { env: 'dev' },
      want: false,
    },
    {
      name: 'not-equal matches a missing label',
      selector: [{ label: 'env', op: '!=', value: 'dev' }],
      labels: {},
      want: true,
    },
    {
      name: 'regex is a full match',
      selector: [re('service', '=~', 'api-.*')],
      labels: { service: 'api-7' },
      want: true,
    },
    {
      name: 'regex does not match a substring',
      selector: [re('service', '=~', 'api')],
      labels: { service: 'api-7' },
      want: false,
    },
    {
      name: 'regex alternation is anchored as a whole',
      selector: [re('job', '=~', 'payments|ledger')],
      labels: { job: 'payments-old' },
      want: false,
    },
    {
      name: 'regex alternation matches either',
      selector: [re('job', '=~', 'payments|ledger')],
      labels: { job: 'ledger' },
      want: true,
    },
    {
      name: 'negative regex excludes matching values',
      selector: [re('pod', '!~', 'canary-.*')],
      labels: { pod: 'canary-1' },
      want: false,
    },
    {
      name: 'negative regex keeps others',
      selector: [re('pod', '!~', 'canary-.*')],
      labels: { pod: 'main-1' },
      want: true,
    },
    {
      name: 'all matchers must hold',
      selector: [
        { label: 'service', op: '=', value: 'api' },
        { label: 'env', op: '!=', value: 'dev' },
      ],
      labels: { service: 'api', env: 'dev' },
      want: false,
    },
    {
      name: 'inherited properties are not labels',
      selector: [{ label: 'constructor', op: '=', value: '' }],
      labels: {},
      want: true,
    },
  ];
  it.each(cases)('$name', ({ selector, labels, want }) => {
    expect(matchesSelector(selector, labels)).toBe(want);
  });
});

describe('compileAnchoredRegex', () => {
  it.each(['(', '[a-', '*', 'a)|(b'])('rejects %j with a reason', (source) => {
    const result = compileAnchoredRegex(source);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).not.toMatch(/^Invalid regular expression/);
  });
});

describe('renderTemplate', () => {
  const cases: { template: string; labels: Record<string, string>; want: string | undefined }[] = [
    { template: 'checkout', labels: {}, want: 'checkout' },
    { template: '{{service}}', labels: { service: 'api' }, want: 'api' },
    { template: '{{ service }}', labels: { service: 'api' }, want: 'api' },
    { template: '{{service}}-canary', labels: { service: 'api' }, want: 'api-canary' },
    {
      template: '{{namespace}}/{{service}}',
      labels: { service: 'api', namespace: 'shop' },
      want: 'shop/api',
    },
    { template: '{{service}}', labels: {}, want: undefined },
    { template: '{{service}}', labels: { service: '' }, want: undefined },
    { template: 'x-{{service}}', labels: { pod: 'p' }, want: undefined },
    { template: '{{bad-name}}', labels: { 'bad-name': 'x' }, want: undefined },
    { template: '{{toString}}', labels: {}, want: undefined },
  ];
  it.each(cases)('$template with $labels', ({ template, labels, want }) => {
    expect(renderTemplate(template, labels)).toBe(want);
  });
});

describe('parseTemplate', () => {
  it.each([
    ['{{service', 'without a closing'],
    ['service}}', 'without a matching'],
    ['{{}}', 'must name a label'],
    ['{{ 9lives }}', 'must name a label'],
    ['{{a b}}', 'must name a label'],
    ['}}{{a}}', 'without a matching'],
  ])('rejects %j', (template, reason) => {
    const result = parseTemplate(template);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(reason);
  });

  it('splits text and placeholders in order', () => {
    expect(parseTemplate('a{{x}}b{{ y }}')).toEqual({
      ok: true,
      parts: [
        { kind: 'text', text: 'a' },
        { kind: 'label', label: 'x' },
        { kind: 'text', text: 'b' },
        { kind: 'label', label: 'y' },
      ],
    });
  });

  it('lists the labels a template needs', () => {
    expect(templateLabels('{{ns}}/{{svc}}-{{ns}}')).toEqual(['ns', 'svc']);
    expect(templateLabels('plain')).toEqual([]);
  });
});
