import { expect } from 'vitest';
import type { ActionEnvelope } from '../../src/dispatch/envelope.js';
import { TargetError } from '../../src/errors.js';
import type { DriverContext } from '../../src/execute/targetDriver.js';
import { makeFire } from '../contract/actionSink.contract.js';

/** An action envelope of `type` for driver tests, with `overrides` applied. */
export function driverEnvelope(
  type: ActionEnvelope['type'],
  overrides: Partial<ActionEnvelope> = {},
): ActionEnvelope {
  const base = makeFire(`driver-${type}`, 'p|service//web', 1_700_000_000_000).actions[0];
  if (base === undefined) throw new Error('makeFire made no action');
  return { ...base, type, ...overrides };
}

/** The context the executor would pass for a first attempt at `envelope`. */
export function driverContext(
  envelope: ActionEnvelope,
  signal = new AbortController().signal,
): DriverContext {
  return { actionId: envelope.actionId, envelope, intentAtMs: Date.now(), attempt: 1, signal };
}

/** The TargetError a driver call threw (fails the test when it threw none) and how long it took. */
export async function targetFailure(
  call: () => Promise<unknown>,
): Promise<{ error: TargetError; elapsedMs: number }> {
  const started = performance.now();
  const error: unknown = await call().then(
    () => new Error('the call succeeded'),
    (e: unknown) => e,
  );
  const elapsedMs = performance.now() - started;
  expect(error).toBeInstanceOf(TargetError);
  return { error: error as TargetError, elapsedMs };
}
