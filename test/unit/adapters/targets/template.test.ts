import { describe, expect, it } from 'vitest';
import {
  parseArgTemplate,
  renderArgTemplate,
  usesPlaceholder,
} from '../../../../src/adapters/targets/template.js';

const NAMES = ['actionId', 'replicas', 'target.name'] as const;
const VALUES = { actionId: 'a1', replicas: '3', 'target.name': 'web' };

describe('parseArgTemplate and renderArgTemplate', () => {
  const good: { template: string; want: string }[] = [
    { template: '', want: '' },
    { template: 'plain', want: 'plain' },
    { template: '{{actionId}}', want: 'a1' },
    { template: '--replicas={{ replicas }}', want: '--replicas=3' },
    { template: '{{target.name}}-{{replicas}}x', want: 'web-3x' },
    { template: '{{actionId}}{{actionId}}', want: 'a1a1' },
    // A JSON argument: a lone "}}" is text, only "{{" opens a placeholder.
    { template: '{"a":{"b":1}}', want: '{"a":{"b":1}}' },
    { template: '$(rm -rf /); echo {{actionId}}', want: '$(rm -rf /); echo a1' },
  ];
  for (const c of good) {
    it(`renders ${JSON.stringify(c.template)}`, () => {
      const parsed = parseArgTemplate(c.template, NAMES);
      if (!parsed.ok) throw new Error(parsed.error);
      expect(renderArgTemplate(parsed.value, VALUES)).toBe(c.want);
    });
  }

  const bad: { template: string; error: RegExp }[] = [
    { template: '{{replica}}', error: /unknown placeholder "\{\{replica\}\}".*\{\{replicas\}\}/ },
    { template: '{{}}', error: /unknown placeholder/ },
    { template: '{{target}}', error: /unknown placeholder/ },
    { template: '--n={{replicas', error: /without a closing/ },
    { template: '{{{actionId}}}', error: /unknown placeholder "\{\{\{actionId\}\}"/ },
  ];
  for (const c of bad) {
    it(`refuses ${JSON.stringify(c.template)}`, () => {
      const parsed = parseArgTemplate(c.template, NAMES);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(c.error);
    });
  }

  it('renders values verbatim, without quoting', () => {
    const parsed = parseArgTemplate('x={{target.name}}', NAMES);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(renderArgTemplate(parsed.value, { ...VALUES, 'target.name': `a b;'"$(x)` })).toBe(
      `x=a b;'"$(x)`,
    );
  });

  it('tells which placeholders a template uses', () => {
    const parsed = parseArgTemplate('{{target.name}}', NAMES);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(usesPlaceholder(parsed.value, 'target.name')).toBe(true);
    expect(usesPlaceholder(parsed.value, 'replicas')).toBe(false);
  });
});
