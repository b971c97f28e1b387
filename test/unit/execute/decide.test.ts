import { describe, expect, it } from 'vitest';
import type { ActionEnvelope } from '../../../src/dispatch/envelope.js';
import {
  backoffMs,
  effectAlreadyApplied,
  gate,
  planAction,
  type AllowedTarget,
  type DecisionInput,
} from '../../../src/execute/decide.js';
import { GuardrailsSchema, planScale, rateLimit } from '../../../src/execute/guardrails.js';

const NOW = 1_700_000_000_000;
const guardrails = GuardrailsSchema.parse({});

function envelope(overrides: Partial<ActionEnvelope> = {}): ActionEnvelope {
  return {
    schema: 'healcast.action/v1',
    actionId: 'a1',
    fireId: 'f1',
    actionIndex: 0,
    policy: 'cpu-high',
    target: { kind: 'service', name: 'web' },
    type: 'scale',
    parameters: { replicas: '+2', max: 10 },
    scale: { mode: 'relative', replicas: 2, maxReplicas: 10 },
    trigger: 'reactive',
    evidence: {
      series: 'cpu{service="web"}',
      metric: 'cpu',
      labels: { service: 'web' },
      value: 90,
      threshold: 80,
      direction: 'above',
      breachStartMs: NOW - 60_000,
      breachDurationMs: 60_000,
      baselineMean: 50,
      baselineLower: 40,
      baselineUpper: 60,
      anomalyScore: 0.9,
    },
    observedAtMs: NOW - 1_000,
    decidedAtMs: NOW - 500,
    cooldownMs: 300_000,
    ...overrides,
  };
}

const target: AllowedTarget = {
  key: 'service//web',
  guardrails,
  requireApproval: ['rollback'],
  supports: () => true,
};

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    envelope: envelope(),
    target,
    killSwitch: undefined,
    dryRun: false,
    approval: undefined,
    breakerOpen: false,
    history: { executedAtMs: [] },
    maxActionAgeMs: 600_000,
    nowMs: NOW,
    ...overrides,
  };
}

describe('gate', () => {
  it('proceeds with an allowed, fresh, supported action', () => {
    expect(gate(input())).toEqual({ kind: 'proceed' });
  });

  it('refuses a target that is not in the allow-list, before anything else', () => {
    const verdict = gate(input({ target: undefined, killSwitch: 'env', breakerOpen: true }));
    expect(verdict).toMatchObject({ kind: 'skip', reason: 'target_not_allowed' });
  });

  it('a human rejection wins over automation, and the kill switch over the rest', () => {
    expect(
      gate(input({ approval: { decision: 'rejected', by: 'ana' }, killSwitch: 'redis' })),
    ).toMatchObject({
      kind: 'skip',
      reason: 'rejected',
    });
    expect(gate(input({ killSwitch: 'redis', breakerOpen: true }))).toMatchObject({
      kind: 'skip',
      reason: 'kill_switch',
    });
  });

  it('skips stale actions unless a human approved them', () => {
    const old = envelope({ decidedAtMs: NOW - 700_000 });
    expect(gate(input({ envelope: old }))).toMatchObject({ kind: 'skip', reason: 'expired' });
    expect(gate(input({ envelope: old, approval: { decision: 'approved', by: 'ana' } }))).toEqual({
      kind: 'proceed',
    });
  });

  it('refuses action types the driver cannot do', () => {
    const noRollback: AllowedTarget = { ...target, supports: (t) => t !== 'rollback' };
    const verdict = gate(
      input({ target: noRollback, envelope: envelope({ type: 'rollback', parameters: {} }) }),
    );
    expect(verdict).toMatchObject({ kind: 'skip', reason: 'unsupported_action' });
  });

  it('defers rollback to a human by default, and lets it through once approved', () => {
    const rollback = envelope({ type: 'rollback', parameters: {} });
    expect(gate(input({ envelope: rollback }))).toMatchObject({
      kind: 'defer',
      reason: 'awaiting_approval',
    });
    expect(
      gate(input({ envelope: rollback, approval: { decision: 'approved', by: 'ana' } })),
    ).toEqual({
      kind: 'proceed',
    });
  });

  it('rate-limits per target within the window', () => {
    const six = Array.from({ length: 6 }, (_, i) => NOW - i * 60_000);
    expect(gate(input({ history: { executedAtMs: six } }))).toMatchObject({
      kind: 'skip',
      reason: 'rate_limited',
    });
    const old = six.map((t) => t - 3_600_000);
    expect(gate(input({ history: { executedAtMs: old } }))).toEqual({ kind: 'proceed' });
  });

  it('defers to escalation while the breaker is open', () => {
    expect(gate(input({ breakerOpen: true }))).toMatchObject({
      kind: 'defer',
      reason: 'breaker_open',
    });
  });
});

describe('planScale', () => {
  const relative = (replicas: number, extra = {}) => ({
    mode: 'relative' as const,
    replicas,
    ...extra,
  });

  it('turns a relative request into an absolute count', () => {
    expect(planScale(relative(2), 1, guardrails, { executedAtMs: [] }, NOW)).toEqual({
      ok: true,
      fromReplicas: 1,
      toReplicas: 3,
      limitedBy: [],
    });
  });

  it('caps by max step, then by the stricter of the policy and executor bounds', () => {
    expect(planScale(relative(9), 1, guardrails, { executedAtMs: [] }, NOW)).toMatchObject({
      toReplicas: 5,
      limitedBy: ['maxStepUp 4'],
    });
    expect(
      planScale(relative(3, { maxReplicas: 3 }), 2, guardrails, { executedAtMs: [] }, NOW),
    ).toMatchObject({
      toReplicas: 3,
      limitedBy: ['maxReplicas 3'],
    });
    const strict = { ...guardrails, maxReplicas: 4 };
    expect(
      planScale(relative(3, { maxReplicas: 20 }), 3, strict, { executedAtMs: [] }, NOW),
    ).toMatchObject({
      toReplicas: 4,
    });
  });

  it('reports only the limit that binds, and walks a target above its maximum down one step at a time', () => {
    expect(
      planScale(
        relative(5, { maxReplicas: 10 }),
        1,
        { ...guardrails, maxReplicas: 3 },
        { executedAtMs: [] },
        NOW,
      ),
    ).toMatchObject({
      toReplicas: 3,
      limitedBy: ['maxReplicas 3'],
    });
    expect(
      planScale(relative(1), 10, { ...guardrails, maxReplicas: 3 }, { executedAtMs: [] }, NOW),
    ).toMatchObject({
      toReplicas: 9,
      limitedBy: ['maxStepDown 1'],
    });
  });

  it('scales in by at most maxStepDown and never below min', () => {
    expect(
      planScale({ mode: 'absolute', replicas: 1 }, 5, guardrails, { executedAtMs: [] }, NOW),
    ).toMatchObject({
      toReplicas: 4,
      limitedBy: ['maxStepDown 1'],
    });
    expect(planScale(relative(-1), 1, guardrails, { executedAtMs: [] }, NOW)).toMatchObject({
      ok: false,
      reason: 'no_change',
    });
  });

  it('refuses scale-in inside the stabilization window after a scale-out', () => {
    const recent = { executedAtMs: [], lastScaleUpAtMs: NOW - 60_000 };
    expect(planScale(relative(-1), 3, guardrails, recent, NOW)).toMatchObject({
      ok: false,
      reason: 'stabilizing',
    });
    const old = { executedAtMs: [], lastScaleUpAtMs: NOW - 301_000 };
    expect(planScale(relative(-1), 3, guardrails, old, NOW)).toMatchObject({
      ok: true,
      toReplicas: 2,
    });
    // Scale-out is never held back by it.
    expect(planScale(relative(1), 3, guardrails, recent, NOW)).toMatchObject({
      ok: true,
      toReplicas: 4,
    });
  });

  it('counts only actions inside the rate window', () => {
    const limits = { ...guardrails, maxActions: { count: 2, window: 60_000 } };
    expect(rateLimit(limits, { executedAtMs: [NOW - 61_000, NOW - 1_000] }, NOW)).toEqual({
      allowed: true,
      inWindow: 1,
    });
    expect(rateLimit(limits, { executedAtMs: [NOW - 2_000, NOW - 1_000] }, NOW).allowed).toBe(
      false,
    );
  });
});

describe('planAction', () => {
  it('plans a scale from the observed count', () => {
    const decision = planAction({ ...input(), target }, { replicas: 1 });
    expect(decision).toMatchObject({
      kind: 'execute',
      plan: { op: 'scale', fromReplicas: 1, toReplicas: 3 },
    });
  });

  it('uses the last count it set for targets it cannot observe, and refuses a relative scale without one', () => {
    expect(planAction({ ...input(), target }, {})).toMatchObject({
      kind: 'skip',
      reason: 'unknown_replicas',
    });
    const known = input({ history: { executedAtMs: [], lastReplicas: 2 } });
    expect(planAction({ ...known, target }, {})).toMatchObject({
      plan: { fromReplicas: 2, toReplicas: 4 },
    });
  });

  it('in dry run records the plan and changes nothing', () => {
    const decision = planAction({ ...input({ dryRun: true }), target }, { replicas: 1 });
    expect(decision).toMatchObject({
      kind: 'skip',
      reason: 'dry_run',
      plan: { op: 'scale', toReplicas: 3 },
    });
    expect(decision.kind === 'skip' && decision.message).toContain(
      'would scale service//web from 1 to 3',
    );
  });

  it('journals the restart marker and revision it saw, to detect a crash after the effect', () => {
    const restart = planAction(
      { ...input({ envelope: envelope({ type: 'restart', parameters: {} }) }), target },
      {
        restartMarker: 'm1',
      },
    );
    expect(restart).toMatchObject({ plan: { op: 'restart', markerBefore: 'm1' } });
    const rollback = planAction(
      {
        ...input({ envelope: envelope({ type: 'rollback', parameters: { toRevision: 3 } }) }),
        target,
      },
      { revision: '5' },
    );
    expect(rollback).toMatchObject({
      plan: { op: 'rollback', revisionBefore: '5', toRevision: 3 },
    });
  });
});

describe('effectAlreadyApplied', () => {
  it('sees a restart or rollback that happened before a crash, and nothing it cannot know', () => {
    expect(
      effectAlreadyApplied({ op: 'restart', markerBefore: 'm1' }, { restartMarker: 'm2' }),
    ).toBe(true);
    expect(
      effectAlreadyApplied({ op: 'restart', markerBefore: 'm1' }, { restartMarker: 'm1' }),
    ).toBe(false);
    expect(effectAlreadyApplied({ op: 'restart' }, {})).toBe(false);
    expect(effectAlreadyApplied({ op: 'rollback', revisionBefore: '5' }, { revision: '6' })).toBe(
      true,
    );
    expect(
      effectAlreadyApplied(
        { op: 'scale', fromReplicas: 1, toReplicas: 3, limitedBy: [] },
        { replicas: 3 },
      ),
    ).toBe(false);
  });
});

describe('backoffMs', () => {
  it('doubles per attempt within [ceiling/2, ceiling] and stops at the cap', () => {
    expect(backoffMs(1, 1_000, 60_000, 0)).toBe(500);
    expect(backoffMs(1, 1_000, 60_000, 0.999)).toBe(1_000);
    expect(backoffMs(3, 1_000, 60_000, 0)).toBe(2_000);
    expect(backoffMs(20, 1_000, 60_000, 1)).toBe(60_000);
  });
});
