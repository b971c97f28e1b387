/**
 * WebhookDriver — the TargetDriver port over an HTTP webhook: each action is one signed JSON
 * POST to a configured URL. The receiver does the work; healcast only knows what it
 * answered.
 *
 * Request: `{ "operation": { "type", "replicas"? }, "action": <envelope> }` with
 * `Idempotency-Key: <actionId>` (the executor may deliver an action again after a crash; a
 * webhook cannot be observed, so the effect is exactly once only if the receiver dedupes on
 * this key) and a Stripe-style signature (see webhookSignature.ts).
 *
 * Answers: 2xx succeeded; 408, 425, 429, 5xx, network errors and timeouts may pass later
 * (retriable); any other status never will. Redirects are not followed: a signed POST
 * replayed to wherever a `Location` points is not what the operator configured.
 */
import { z } from 'zod';
import { formatDurationMs } from '../../config/duration.js';
import type { ActionEnvelope } from '../../dispatch/envelope.js';
import { HealcastError, TargetError } from '../../errors.js';
import type {
  DriverContext,
  EffectReport,
  ObserveContext,
  TargetDriver,
  TargetObservation,
} from '../../execute/targetDriver.js';
import type { Clock } from '../../pipeline/clock.js';
import { systemClock } from '../systemClock.js';
import {
  AcceptedActionsSchema,
  assertAccepts,
  EnvVarNameSchema,
  timeoutMsSchema,
} from './settingsFields.js';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './webhookSignature.js';

/** Default time a receiver has to answer. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;

/** How much of a response body is kept for the outcome record. */
export const RESPONSE_EXCERPT_BYTES = 1024;

/** Headers the driver sets itself; static `headers` may not override them (lower case). */
const RESERVED_HEADERS = [
  'content-type',
  'idempotency-key',
  TIMESTAMP_HEADER.toLowerCase(),
  SIGNATURE_HEADER.toLowerCase(),
] as const;

/** RFC 9110 token: what a header name may contain. */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Statuses that say "not now" rather than "never". */
const RETRIABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

const HeadersSchema = z
  // CR/LF would split the header; fetch would refuse it at the first action otherwise.
  .record(z.string(), z.string().regex(/^[^\r\n\0]*$/, 'must not contain line breaks or NUL'))
  // Names are checked here rather than as the record's key schema, whose own message
  // ("Invalid key in record") would hide why.
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      if (!HEADER_NAME_RE.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'must be an HTTP header name' });
      } else if ((RESERVED_HEADERS as readonly string[]).includes(name.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `is set by healcast itself (${RESERVED_HEADERS.join(', ')})`,
        });
      }
    }
  })
  .default({});

/**
 * Settings of a webhook target in the executor config. `timeout` is a duration (`"5s"` or
 * milliseconds) and comes out as `timeoutMs`. `secretEnv` names the environment variable
 * holding the HMAC secret: the secret itself never sits in a config file, and an unsigned
 * webhook cannot be configured at all.
 */
export const WebhookTargetSettingsSchema = z
  .strictObject({
    /** Where actions are POSTed (http or https). */
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** Name of the environment variable holding the HMAC-SHA256 secret. */
    secretEnv: EnvVarNameSchema,
    /** How long the receiver has to answer (default 5s). */
    timeout: timeoutMsSchema(DEFAULT_WEBHOOK_TIMEOUT_MS),
    /** Action types this webhook accepts (default all). */
    actions: AcceptedActionsSchema,
    /** Extra static headers (for example a routing key); cannot replace the signed ones. */
    headers: HeadersSchema,
  })
  .transform((s) => ({
    url: s.url,
    secretEnv: s.secretEnv,
    /** Milliseconds the receiver has to answer. */
    timeoutMs: s.timeout,
    actions: s.actions,
    headers: s.headers,
  }));
export type WebhookTargetSettings = z.infer<typeof WebhookTargetSettingsSchema>;

/** What the driver asks the receiver to do: `operation` in the request body. */
export interface WebhookOperation {
  readonly type: ActionEnvelope['type'];
  /** For scale: the absolute replica count the executor computed. */
  readonly replicas?: number;
}

/** The request body, as receivers parse it. */
export interface WebhookRequestBody {
  readonly operation: WebhookOperation;
  readonly action: ActionEnvelope;
}

/** Dependencies of the webhook driver; production defaults when left out. */
export interface WebhookDriverOptions {
  /** Where `secretEnv` is looked up (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Wall clock for the signature timestamp (default the system clock). */
  readonly clock?: Pick<Clock, 'nowMs'>;
}

/** The webhook target (see the file comment for the wire contract). */
export class WebhookDriver implements TargetDriver<WebhookTargetSettings> {
  readonly type = 'webhook' as const;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly clock: Pick<Clock, 'nowMs'>;
  /** Secrets by env-var name, read once: an env var cannot change under a running process. */
  private readonly secrets = new Map<string, string>();

  constructor(options: WebhookDriverOptions = {}) {
    this.env = options.env ?? process.env;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Reads the target's secret now. The executor calls this for every webhook target at
   * start-up, so a missing secret fails the start instead of the first action. Throws
   * `HealcastError` CONFIG_INVALID (not retriable) naming the variable.
   */
  prepare(settings: WebhookTargetSettings): void {
    this.secretFor(settings);
  }

  supports(settings: WebhookTargetSettings, action: ActionEnvelope['type']): boolean {
    return settings.actions.includes(action);
  }

  /** A webhook cannot be observed: nothing is known, so the executor relies on the key. */
  observe(_settings: WebhookTargetSettings, _ctx: ObserveContext): Promise<TargetObservation> {
    return Promise.resolve({});
  }

  scale(settings: WebhookTargetSettings, replicas: number, ctx: DriverContext) {
    return this.post(settings, { type: 'scale', replicas }, ctx);
  }

  restart(settings: WebhookTargetSettings, ctx: DriverContext) {
    return this.post(settings, { type: 'restart' }, ctx);
  }

  rollback(settings: WebhookTargetSettings, ctx: DriverContext) {
    return this.post(settings, { type: 'rollback' }, ctx);
  }

  /** Global fetch keeps no per-driver connections. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private secretFor(settings: WebhookTargetSettings): string {
    const cached = this.secrets.get(settings.secretEnv);
    if (cached !== undefined) return cached;
    const secret = this.env[settings.secretEnv];
    if (secret === undefined || secret === '') {
      throw new HealcastError(
        'CONFIG_INVALID',
        `webhook ${originOf(settings.url)}: environment variable ${settings.secretEnv} (secretEnv) ` +
          'is not set or empty; it must hold the HMAC secret the receiver verifies',
        { retriable: false },
      );
    }
    this.secrets.set(settings.secretEnv, secret);
    return secret;
  }

  private async post(
    settings: WebhookTargetSettings,
    operation: WebhookOperation,
    ctx: DriverContext,
  ): Promise<EffectReport> {
    // Only the origin goes into messages: webhook paths and queries often embed tokens.
    const where = `webhook ${originOf(settings.url)}`;
    assertAccepts(settings.actions, operation.type, where);
    const secret = this.secretFor(settings);
    const body: WebhookRequestBody = { operation, action: ctx.envelope };
    const rawBody = JSON.stringify(body);
    const { timestamp, signature } = signWebhook(secret, rawBody, this.clock.nowMs());
    const what = describe(operation);
    const timeoutSignal = AbortSignal.timeout(settings.timeoutMs);
    let response: Response;
    try {
      response = await fetch(settings.url, {
        method: 'POST',
        headers: {
          ...settings.headers,
          'Content-Type': 'application/json',
          'Idempotency-Key': ctx.actionId,
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signature,
        },
        body: rawBody,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.signal, timeoutSignal]),
      });
    } catch (error) {
      if (timeoutSignal.aborted) {
        throw new TargetError(
          `${where} did not answer ${what} within ${formatDurationMs(settings.timeoutMs)}`,
          { retriable: true, cause: error },
        );
      }
      if (ctx.signal.aborted) {
        throw new TargetError(`${where}: ${what} aborted by the executor`, {
          retriable: true,
          cause: error,
        });
      }
      throw new TargetError(`${where} unreachable for ${what}: ${networkReason(error)}`, {
        retriable: true,
        cause: error,
      });
    }
    const excerpt = await readExcerpt(response);
    const { status } = response;
    if (status >= 200 && status < 300) {
      return {
        summary: `${where} accepted ${what} (HTTP ${status})`,
        details: { status, url: originOf(settings.url), body: excerpt },
      };
    }
    const retriable = status >= 500 || RETRIABLE_STATUSES.has(status);
    const location = response.headers.get('location');
    const redirect = status >= 300 && status < 400 && location !== null ? ` to ${location}` : '';
    throw new TargetError(
      `${where} answered HTTP ${status}${redirect} to ${what}: ${JSON.stringify(excerpt)}`,
      { retriable },
    );
  }
}

function originOf(url: string): string {
  return new URL(url).origin;
}

function describe(operation: WebhookOperation): string {
  return operation.replicas === undefined
    ? operation.type
    : `${operation.type} to ${operation.replicas} replicas`;
}

/** fetch reports network failures as `TypeError('fetch failed')` with the socket error inside. */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
}

/**
 * The first `RESPONSE_EXCERPT_BYTES` of the body, then the stream is cancelled so a huge or
 * endless body neither fills memory nor holds the connection. The status is already known,
 * so a body that breaks off is reported as such rather than failing the call.
 */
async function readExcerpt(response: Response): Promise<string> {
  if (response.body === null) return '';
  // Node's lib types a fetch body as ReadableStream<any>; it yields bytes.
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (error) {
    chunks.push(new TextEncoder().encode(` [body broke off: ${networkReason(error)}]`));
  } finally {
    // Cancelling only releases the connection; a failure to do so changes nothing we report.
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
}
