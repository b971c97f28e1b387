import { describe, expect, it } from 'vitest';
import {
  signWebhook,
  verifyWebhookSignature,
} from '../../../../src/adapters/targets/webhookSignature.js';

const SECRET = 'whsec_test';
const BODY = '{"a":1}';
const NOW_MS = 1_700_000_000_000;
const TOLERANCE_MS = 300_000;

describe('signWebhook', () => {
  it('MACs "<unix seconds>.<raw body>" with HMAC-SHA256', () => {
    // Reference value from: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    expect(signWebhook(SECRET, BODY, NOW_MS + 999)).toEqual({
      timestamp: '1700000000',
      signature: 'sha256=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789',
    });
  });

  it('signs bytes and the same text alike', () => {
    expect(signWebhook(SECRET, Buffer.from(BODY), NOW_MS)).toEqual(
      signWebhook(SECRET, BODY, NOW_MS),
    );
  });
});

describe('verifyWebhookSignature', () => {
  const signed = signWebhook(SECRET, BODY, NOW_MS);
  const cases: {
    name: string;
    secret?: string;
    body?: string;
    timestamp?: string | undefined;
    signature?: string | undefined;
    nowMs?: number;
    want: ReturnType<typeof verifyWebhookSignature>;
  }[] = [
    { name: 'accepts the signed request', want: { ok: true } },
    { name: 'accepts it within the tolerance', nowMs: NOW_MS + TOLERANCE_MS, want: { ok: true } },
    {
      name: 'accepts an upper-case hex digest',
      signature: signed.signature.toUpperCase().replace('SHA256=', 'sha256='),
      want: { ok: true },
    },
    { name: 'refuses a tampered body', body: '{"a":2}', want: { ok: false, reason: 'mismatch' } },
    { name: 'refuses another secret', secret: 'other', want: { ok: false, reason: 'mismatch' } },
    {
      name: 'refuses a replay with a fresh timestamp (the MAC covers it)',
      timestamp: String(NOW_MS / 1000 + 60),
      want: { ok: false, reason: 'mismatch' },
    },
    {
      name: 'refuses a stale timestamp',
      nowMs: NOW_MS + TOLERANCE_MS + 1_000,
      want: { ok: false, reason: 'stale' },
    },
    {
      name: 'refuses a timestamp from the future beyond the tolerance',
      nowMs: NOW_MS - TOLERANCE_MS - 1_000,
      want: { ok: false, reason: 'stale' },
    },
    {
      name: 'refuses a missing signature',
      signature: undefined,
      want: { ok: false, reason: 'malformed' },
    },
    {
      name: 'refuses a missing timestamp',
      timestamp: undefined,
      want: { ok: false, reason: 'malformed' },
    },
    {
      name: 'refuses another scheme',
      signature: signed.signature.replace('sha256=', 'sha1='),
      want: { ok: false, reason: 'malformed' },
    },
    {
      name: 'refuses a truncated digest',
      signature: signed.signature.slice(0, -2),
      want: { ok: false, reason: 'malformed' },
    },
    {
      name: 'refuses a non-numeric timestamp',
      timestamp: '17e8',
      want: { ok: false, reason: 'malformed' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const timestamp = 'timestamp' in c ? c.timestamp : signed.timestamp;
      const signature = 'signature' in c ? c.signature : signed.signature;
      expect(
        verifyWebhookSignature(
          c.secret ?? SECRET,
          c.body ?? BODY,
          timestamp,
          signature,
          c.nowMs ?? NOW_MS,
          TOLERANCE_MS,
        ),
      ).toEqual(c.want);
    });
  }
});
