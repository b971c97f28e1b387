import { describe, expect, it } from 'vitest';
import type { DeploymentEvent } from '../../../src/ingest/deploymentEvent.js';
import { DeploymentWindows } from '../../../src/policy/deploymentWindows.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const WINDOW = 15 * MIN;

function deployment(service: string, version: string, minute: number): DeploymentEvent {
  return { service, version, deployedAtMs: T0 + minute * MIN };
}

describe('DeploymentWindows', () => {
  it('has no window for a service never deployed', () => {
    const windows = new DeploymentWindows();
    windows.record(deployment('checkout', 'v1', 0));
    expect(windows.openWindow('payments', T0, WINDOW)).toBeUndefined();
  });

  it.each([
    ['before the deployment', -1, false],
    ['at the deployment', 0, true],
    ['inside the window', 7, true],
    ['at the end of the window (included)', 15, true],
    ['after the window', 15.001, false],
  ])('a sample %s', (_name, minute, open) => {
    const windows = new DeploymentWindows();
    const v2 = deployment('checkout', 'v2', 0);
    windows.record(v2);
    expect(windows.openWindow('checkout', T0 + minute * MIN, WINDOW)).toBe(open ? v2 : undefined);
  });

  it('the window length is the caller’s: one deployment, policies with different windows', () => {
    const windows = new DeploymentWindows();
    windows.record(deployment('checkout', 'v2', 0));
    expect(windows.openWindow('checkout', T0 + 20 * MIN, WINDOW)).toBeUndefined();
    expect(windows.openWindow('checkout', T0 + 20 * MIN, 30 * MIN)?.version).toBe('v2');
  });

  it('a newer deployment moves the window', () => {
    const windows = new DeploymentWindows();
    expect(windows.record(deployment('checkout', 'v2', 0))).toBe('recorded');
    expect(windows.record(deployment('checkout', 'v3', 30))).toBe('recorded');
    expect(windows.openWindow('checkout', T0 + 5 * MIN, WINDOW)).toBeUndefined();
    expect(windows.openWindow('checkout', T0 + 35 * MIN, WINDOW)?.version).toBe('v3');
    expect(windows.latest('checkout')?.version).toBe('v3');
  });

  it('an older deployment arriving late does not replace a newer one', () => {
    const windows = new DeploymentWindows();
    windows.record(deployment('checkout', 'v3', 30));
    expect(windows.record(deployment('checkout', 'v2', 0))).toBe('superseded');
    expect(windows.openWindow('checkout', T0 + 5 * MIN, WINDOW)).toBeUndefined();
    expect(windows.openWindow('checkout', T0 + 35 * MIN, WINDOW)?.version).toBe('v3');
  });

  it('a repeat at the same time (a producer retry) keeps the first', () => {
    const windows = new DeploymentWindows();
    windows.record(deployment('checkout', 'v2', 0));
    expect(windows.record(deployment('checkout', 'v2-retry', 0))).toBe('superseded');
    expect(windows.latest('checkout')?.version).toBe('v2');
  });

  it('keeps services apart', () => {
    const windows = new DeploymentWindows();
    windows.record(deployment('checkout', 'v2', 0));
    windows.record(deployment('payments', 'v9', 30));
    expect(windows.openWindow('checkout', T0 + 5 * MIN, WINDOW)?.version).toBe('v2');
    expect(windows.openWindow('payments', T0 + 5 * MIN, WINDOW)).toBeUndefined();
  });

  it('bounds memory: past the cap the service recorded longest ago is forgotten', () => {
    const windows = new DeploymentWindows(3);
    windows.record(deployment('a', 'v1', 0));
    windows.record(deployment('b', 'v1', 1));
    windows.record(deployment('c', 'v1', 2));
    windows.record(deployment('a', 'v2', 3)); // a is now the most recently recorded
    windows.record(deployment('d', 'v1', 4)); // evicts b
    expect(windows.size).toBe(3);
    expect(windows.latest('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((s) => windows.latest(s)?.version)).toEqual(['v2', 'v1', 'v1']);
  });

  it('stays at its cap under many services', () => {
    const windows = new DeploymentWindows(100);
    for (let i = 0; i < 10_000; i++) windows.record(deployment(`svc-${i}`, 'v1', i));
    expect(windows.size).toBe(100);
    expect(windows.latest('svc-9999')?.version).toBe('v1');
    expect(windows.latest('svc-0')).toBeUndefined();
  });
});
