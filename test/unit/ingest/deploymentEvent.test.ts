import { describe, expect, it } from 'vitest';
import {
  decodeDeploymentEvent,
  type DeploymentDecodeResult,
} from '../../../src/ingest/deploymentEvent.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';

/** 2023-11-14T22:13:20Z */
const NOW = 1_700_000_000_000;
const context = { nowMs: NOW, limits: DEFAULT_DECODE_LIMITS };

function decode(value: unknown): DeploymentDecodeResult {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return decodeDeploymentEvent(Buffer.from(text), context);
}

const base = { service: 'checkout', version: 'v42' };

describe('decodeDeploymentEvent: good events', () => {
  it.each([
    ['epoch milliseconds', { ...base, time: NOW }, { ...base, deployedAtMs: NOW }],
    [
      'epoch milliseconds as digits',
      { ...base, time: String(NOW) },
      { ...base, deployedAtMs: NOW },
    ],
    [
      'fractional milliseconds floored',
      { ...base, time: NOW + 0.9 },
      { ...base, deployedAtMs: NOW },
    ],
    ['ISO-8601 in UTC', { ...base, time: '2023-11-14T22:13:20Z' }, { ...base, deployedAtMs: NOW }],
    [
      'ISO-8601 with an offset and fraction',
      { ...base, time: '2023-11-14T23:13:20.250+01:00' },
      { ...base, deployedAtMs: NOW + 250 },
    ],
    [
      'optional fields',
      { ...base, time: NOW, previousVersion: 'v41', environment: 'prod' },
      { ...base, deployedAtMs: NOW, previousVersion: 'v41', environment: 'prod' },
    ],
    [
      'up to the clock-skew allowance in the future',
      { ...base, time: NOW + DEFAULT_DECODE_LIMITS.maxFutureSkewMs },
      { ...base, deployedAtMs: NOW + DEFAULT_DECODE_LIMITS.maxFutureSkewMs },
    ],
  ])('%s', (_name, input, event) => {
    expect(decode(input)).toEqual({ ok: true, event });
  });

  it('reads a message with whitespace around it', () => {
    expect(decode(`  ${JSON.stringify({ ...base, time: NOW })}\n`)).toEqual({
      ok: true,
      event: { ...base, deployedAtMs: NOW },
    });
  });
});

describe('decodeDeploymentEvent: bad events, each with a reason and a detail naming the field', () => {
  it.each([
    ['no bytes', '', 'empty_message', 'the message has no bytes'],
    ['whitespace', '  \n', 'empty_message', 'the message holds only whitespace'],
    ['not JSON', 'deployed checkout v42', 'invalid_json', 'is not valid JSON'],
    ['an array', [{ ...base, time: NOW }], 'invalid_schema', 'expected one deployment object'],
    [
      'a misspelt field',
      { serivce: 'checkout', version: 'v42', time: NOW },
      'invalid_schema',
      'unknown field "serivce" (allowed: service, version, time, previousVersion, environment); service: missing',
    ],
    [
      'a misspelt optional field',
      { ...base, time: NOW, previousVerison: 'v41' },
      'invalid_schema',
      'unknown field "previousVerison"',
    ],
    ['no version', { service: 'checkout', time: NOW }, 'invalid_schema', 'version: missing'],
    ['no time', base, 'invalid_schema', 'time: missing'],
    [
      'a number for the service',
      { service: 42, version: 'v1', time: NOW },
      'invalid_schema',
      'service: expected a string, got 42',
    ],
    [
      'an empty version',
      { ...base, version: '', time: NOW },
      'invalid_schema',
      'version: must not be empty',
    ],
    [
      'a padded service name',
      { ...base, service: 'checkout ', time: NOW },
      'invalid_schema',
      'service: must not start or end with whitespace, got "checkout "',
    ],
    [
      'an over-long service name',
      { ...base, service: 'x'.repeat(257), time: NOW },
      'invalid_schema',
      'service: longer than 256 characters',
    ],
    [
      'a boolean time',
      { ...base, time: true },
      'invalid_schema',
      'time: expected epoch milliseconds or an ISO-8601 date-time with a zone, got true',
    ],
    [
      'a local time without a zone',
      { ...base, time: '2023-11-14T22:13:20' },
      'invalid_timestamp',
      'a local time names no instant), got "2023-11-14T22:13:20"',
    ],
    [
      'a date that does not exist',
      { ...base, time: '2023-02-30T00:00:00Z' },
      'invalid_timestamp',
      'got "2023-02-30T00:00:00Z"',
    ],
    [
      'seconds sent as milliseconds',
      { ...base, time: NOW / 1000 },
      'invalid_timestamp',
      '(seconds sent as milliseconds?)',
    ],
    [
      'far in the future',
      { ...base, time: NOW + 3_600_000 },
      'timestamp_in_future',
      'time: 1700003600000 ms is more than 300000 ms after now',
    ],
  ])('%s', (_name, input, reason, detail) => {
    const result = decode(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.reason).toBe(reason);
    expect(result.problem.detail).toContain(detail);
  });

  it('refuses bytes that are not UTF-8', () => {
    const result = decodeDeploymentEvent(Buffer.from([0x7b, 0xff, 0x7d]), context);
    expect(result).toEqual({
      ok: false,
      problem: { reason: 'invalid_json', detail: 'not valid UTF-8' },
    });
  });

  it('refuses a null value (a tombstone)', () => {
    expect(decodeDeploymentEvent(null, context)).toEqual({
      ok: false,
      problem: { reason: 'empty_message', detail: 'the message has no bytes' },
    });
  });

  it('names every bad field of one message', () => {
    const result = decode({ service: '', version: 7, time: NOW });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.detail).toContain('service: must not be empty');
    expect(result.problem.detail).toContain('version: expected a string, got 7');
  });
});
