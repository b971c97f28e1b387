import { describe, expect, it } from 'vitest';
import { BreachTracker, isBreaching, type BreachRule } from '../../../src/policy/breach.js';

const MIN = 60_000;
const rule: BreachRule = {
  threshold: 80,
  direction: 'above',
  inclusive: false,
  durationMs: 5 * MIN,
  maxGapMs: 2 * MIN,
  cooldownMs: 10 * MIN,
};

/** Feeds one value per minute (a manual clock) and returns the decision kinds. */
function feed(
  tracker: BreachTracker,
  values: number[],
  startMin = 0,
  slot = 0,
  target = 't',
): string[] {
  return values.map((v, i) => tracker.observe(slot, v, (startMin + i) * MIN, target).kind);
}

describe('isBreaching', () => {
  it.each([
    ['above', false, 80, false],
    ['above', false, 80.1, true],
    ['above', true, 80, true],
    ['below', false, 80, false],
    ['below', false, 79, true],
    ['below', true, 80, true],
  ] as const)('%s inclusive=%s value=%d → %s', (direction, inclusive, value, expected) => {
    expect(isBreaching({ ...rule, direction, inclusive }, value)).toBe(expected);
  });
});

describe('BreachTracker', () => {
  it('fires once the breach has lasted the duration, then cools down', () => {
    const tracker = new BreachTracker(rule);
    // minute 0..5 breaching: fires at minute 5 (5 minutes after the first breaching sample)
    const kinds = feed(tracker, [85, 85, 85, 85, 85, 85]);
    expect(kinds).toEqual([
      'breaching',
      'breaching',
      'breaching',
      'breaching',
      'breaching',
      'fire',
    ]);
    tracker.startCooldown('t', 5 * MIN);
    // Still breaching through minute 14: cooling down until minute 15, fires again at 15.
    const later = feed(tracker, Array<number>(9).fill(90), 6);
    expect(later.every((k) => k === 'cooling_down')).toBe(true);
    expect(tracker.observe(0, 90, 15 * MIN, 't').kind).toBe('fire');
  });

  it('resets when a sample is back under the threshold', () => {
    const tracker = new BreachTracker(rule);
    expect(feed(tracker, [85, 85, 85, 70, 85, 85, 85, 85, 85])).toEqual([
      'breaching',
      'breaching',
      'breaching',
      'ok',
      'breaching',
      'breaching',
      'breaching',
      'breaching',
      'breaching',
    ]);
    expect(tracker.observe(0, 85, 9 * MIN, 't').kind).toBe('fire');
  });

  it('resets after a gap longer than maxGap', () => {
    const tracker = new BreachTracker(rule);
    feed(tracker, [85, 85, 85]);
    // Next sample 3 minutes after the last one (> maxGap 2 m): the breach restarts.
    expect(tracker.observe(0, 85, 5 * MIN, 't')).toEqual({ kind: 'breaching', startMs: 5 * MIN });
  });

  it('keeps cooldown per target, breach per series', () => {
    const tracker = new BreachTracker({ ...rule, durationMs: 0 });
    expect(tracker.observe(0, 85, 0, 'a').kind).toBe('fire');
    tracker.startCooldown('a', 0);
    expect(tracker.observe(1, 85, MIN, 'a').kind).toBe('cooling_down');
    expect(tracker.observe(2, 85, MIN, 'b').kind).toBe('fire');
    expect(tracker.breachingSeries).toBe(3);
    tracker.forget(0);
    expect(tracker.breachingSeries).toBe(2);
  });

  it('reports the highest value of the breach, restarting after each fire', () => {
    const below = new BreachTracker({
      ...rule,
      threshold: 63,
      direction: 'below',
      durationMs: 3 * MIN,
      cooldownMs: 2 * MIN,
    });
    feed(below, [50, 61, 40], 0, 0, 'b');
    expect(below.observe(0, 30, 3 * MIN, 'b')).toEqual({ kind: 'fire', startMs: 0, peak: 61 });
    below.fired(0, 'b', 3 * MIN);
    // After the fire the peak is that of the samples since: 45 (cooling down at minute 4).
    expect(feed(below, [45], 4, 0, 'b')).toEqual(['cooling_down']);
    expect(below.observe(0, 35, 5 * MIN, 'b')).toEqual({ kind: 'fire', startMs: 0, peak: 45 });
    // A new breach (after a gap) starts its own peak.
    feed(below, [62], 20, 0, 'b');
    expect(feed(below, [10, 10], 21, 0, 'b')).toEqual(['breaching', 'breaching']);
    expect(below.observe(0, 12, 23 * MIN, 'b')).toEqual({
      kind: 'fire',
      startMs: 20 * MIN,
      peak: 62,
    });
  });

  it('keeps the peak of a fire the caller did not take (a vetoed fire)', () => {
    const below = new BreachTracker({
      ...rule,
      threshold: 63,
      direction: 'below',
      durationMs: 2 * MIN,
      cooldownMs: 2 * MIN,
    });
    feed(below, [50, 61], 0, 0, 'b');
    // Offered at minute 2, not taken (no fired call): still offered, with the whole breach's peak.
    expect(below.observe(0, 30, 2 * MIN, 'b')).toEqual({ kind: 'fire', startMs: 0, peak: 61 });
    expect(below.observe(0, 40, 3 * MIN, 'b')).toEqual({ kind: 'fire', startMs: 0, peak: 61 });
    below.fired(0, 'b', 3 * MIN);
    expect(below.isCoolingDown('b', 4 * MIN)).toBe(true);
    expect(below.observe(0, 20, 5 * MIN, 'b')).toEqual({ kind: 'fire', startMs: 0, peak: 20 });
  });

  it('fires on the first breaching sample when the duration is 0', () => {
    const tracker = new BreachTracker({ ...rule, durationMs: 0 });
    expect(tracker.observe(0, 81, 0, 't').kind).toBe('fire');
  });

  it('forgets expired cooldowns once many targets have cooled down', () => {
    const tracker = new BreachTracker(rule);
    for (let t = 0; t < 10_000; t++) tracker.startCooldown(`target-${t}`, 0);
    expect(tracker.cooldownTargets).toBe(10_000);
    tracker.startCooldown('late', rule.cooldownMs + 1);
    expect(tracker.cooldownTargets).toBe(1);
  });
});
