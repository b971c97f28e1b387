import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../../observability/logger.js';

/** What the HTTP endpoint asks of the running worker. */
export interface HealthProbe {
  /** Liveness: the process and its event loop are working. */
  isAlive(): boolean;
  /** Readiness, with the state of each dependency for the response body. */
  readiness(): { ready: boolean; components: Record<string, boolean> };
}

/**
 * The worker's HTTP face: `/metrics` (Prometheus text format from the injected registry),
 * `/healthz` (liveness) and `/readyz` (Kafka and Redis connected). Extra routes (forecast
 * inspection) can be mounted with `route`.
 */
export class HttpEndpoint {
  private readonly server: Server;
  private readonly routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

  constructor(
    private readonly registry: Registry,
    private readonly probe: HealthProbe,
    private readonly log: Logger,
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log.error(
          { event: 'http_request_failed', error: String(error), url: req.url },
          'request failed',
        );
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    // Scrapers keep connections alive; do not let them hold shutdown up.
    this.server.keepAliveTimeout = 5_000;
  }

  /** Adds a GET route. */
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.routes.set(path, handler);
  }

  /** Listens on host:port; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(body);
      return;
    }
    if (path === '/healthz') {
      const alive = this.probe.isAlive();
      sendJson(res, alive ? 200 : 503, { status: alive ? 'ok' : 'unhealthy' });
      return;
    }
    if (path === '/readyz') {
      const { ready, components } = this.probe.readiness();
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', components });
      return;
    }
    const route = this.routes.get(path);
    if (route) {
      route(req, res);
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        [
          'healcast',
          '',
          'GET /metrics  Prometheus metrics',
          'GET /healthz  liveness',
          'GET /readyz   readiness',
          ...[...this.routes.keys()].map((p) => `GET ${p}`),
        ].join('\n') + '\n',
      );
      return;
    }
    sendJson(res, 404, { error: `no route ${path}` });
  }
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body) + '\n');
}
