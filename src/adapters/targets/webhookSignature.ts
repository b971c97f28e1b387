import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, Stripe-style: `HMAC-SHA256(secret, "<timestamp>.<raw body>")` sent as
 * `X-Healcast-Signature: sha256=<hex>` next to `X-Healcast-Timestamp: <unix seconds>`.
 * Putting the timestamp inside the MAC is what lets a receiver refuse a captured request
 * replayed later: changing the timestamp breaks the signature, keeping it makes it stale.
 * Pure; receivers can import `verifyWebhookSignature` as it is.
 */

/** Header carrying the request's unix time in whole seconds. */
export const TIMESTAMP_HEADER = 'X-Healcast-Timestamp';
/** Header carrying `sha256=<hex HMAC>`. */
export const SIGNATURE_HEADER = 'X-Healcast-Signature';

const SIGNATURE_PREFIX = 'sha256=';
const SIGNATURE_RE = /^sha256=([0-9a-f]{64})$/;
const TIMESTAMP_RE = /^\d{1,15}$/;

/** The two header values of a signed request. */
export interface WebhookSignature {
  /** Unix seconds, as sent in `X-Healcast-Timestamp`. */
  readonly timestamp: string;
  /** `sha256=<hex>`, as sent in `X-Healcast-Signature`. */
  readonly signature: string;
}

/** Why a signature was refused, for the receiver's log; never tell the sender. */
export type WebhookVerification =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'malformed' | 'stale' | 'mismatch' };

function hmacHex(secret: string, timestamp: string, rawBody: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/**
 * Signs `rawBody` (the exact bytes sent) at `nowMs` (ms since epoch; truncated to seconds).
 */
export function signWebhook(
  secret: string,
  rawBody: string | Uint8Array,
  nowMs: number,
): WebhookSignature {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { timestamp, signature: SIGNATURE_PREFIX + hmacHex(secret, timestamp, rawBody) };
}

/**
 * Checks a received request. `rawBody` must be the bytes as received (re-serialised JSON may
 * differ). The timestamp must lie within `toleranceMs` of `nowMs` in either direction (a
 * timestamp from the future is as suspicious as an old one, beyond clock skew); the MAC is
 * compared in constant time so its bytes cannot be guessed one by one from response times.
 * Header values may be `undefined` (header absent) — that is `malformed`.
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: string | Uint8Array,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  nowMs: number,
  toleranceMs: number,
): WebhookVerification {
  const timestamp = timestampHeader?.trim();
  const match = SIGNATURE_RE.exec(signatureHeader?.trim().toLowerCase() ?? '');
  if (timestamp === undefined || !TIMESTAMP_RE.test(timestamp) || match === null) {
    return { ok: false, reason: 'malformed' };
  }
  if (Math.abs(nowMs - Number(timestamp) * 1000) > toleranceMs) {
    return { ok: false, reason: 'stale' };
  }
  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), 'hex');
  const received = Buffer.from(match[1] as string, 'hex');
  // Both are 32 bytes by construction (the regex fixes the length), as timingSafeEqual needs.
  return timingSafeEqual(expected, received) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
