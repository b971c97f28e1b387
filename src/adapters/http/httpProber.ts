import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpGetSpec } from '../../policy/schema.js';
import type { Prober, ProbeResult } from '../../probe/prober.js';

/**
 * How much of a response body is read before the check completes: the kubelet reads up to
 * 10 KiB too. Reading it (rather than stopping at the status line) keeps a server that sends
 * headers and then hangs from passing: the timeout covers the body.
 */
const MAX_BODY_BYTES = 10 * 1024;

/**
 * HttpProber — the kubelet's HTTP GET check: a status 200–399 within the timeout is a
 * success; anything else (connection refused, timeout, 4xx/5xx, a reset) is a failure with its
 * reason. Redirects are not followed (a 3xx is already a success). For https the server's
 * certificate is not verified, as the kubelet does not: a liveness probe asks "does it
 * answer", not "is it who it claims", and sends nothing secret.
 */
export class HttpProber implements Prober {
  constructor(private readonly userAgent = 'healcast-probe') {}

  probe(request: HttpGetSpec, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const finish = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        req.destroy();
        resolve(result);
      };
      const onResponse = (res: IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        let read = 0;
        const done = (): void =>
          finish(
            status >= 200 && status < 400
              ? { ok: true, status }
              : {
                  ok: false,
                  reason: 'http_status',
                  detail: `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`,
                  status,
                },
          );
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= MAX_BODY_BYTES) done();
        });
        res.on('end', done);
        res.on('error', (error) => finish(failure(error)));
      };
      const options = {
        host: request.host,
        port: request.port,
        path: request.path,
        method: 'GET',
        headers: { 'user-agent': this.userAgent, accept: '*/*', connection: 'close' },
        // A fresh connection per check, as the kubelet makes: a pooled socket could hide a
        // listener that no longer accepts connections.
        agent: false,
      } as const;
      const req =
        request.scheme === 'https'
          ? httpsRequest({ ...options, rejectUnauthorized: false }, onResponse)
          : httpRequest(options, onResponse);
      req.on('error', (error) => finish(failure(error)));
      const timer = setTimeout(
        () =>
          finish({
            ok: false,
            reason: 'timeout',
            detail: `no complete response within ${timeoutMs} ms`,
          }),
        timeoutMs,
      );
      const onAbort = (): void => finish({ ok: false, reason: 'aborted', detail: 'probe stopped' });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }
}

function failure(error: Error): ProbeResult {
  const code = (error as NodeJS.ErrnoException).code;
  return {
    ok: false,
    reason: code === 'ECONNREFUSED' ? 'connection_refused' : 'error',
    detail: code === undefined ? error.message : `${code}: ${error.message}`,
  };
}
