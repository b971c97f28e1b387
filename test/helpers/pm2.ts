// Isolated PM2 daemons for integration tests.
//
// startPm2Sandbox() starts a PM2 daemon of its own in a fresh PM2_HOME under os.tmpdir(), so a
// test never sees (or disturbs) a user's PM2 or another test's. The daemon is spawned here,
// not through pm2's connect(), for two reasons: pm2's spawn lets an inherited $PM2_HOME win
// over the home asked for, and holding the child process lets stop() wait for its exit.
//
// stop() stops the daemon (SIGTERM: PM2 stops every app, then exits), SIGKILLs whatever is
// left of the daemon and of every app process the sandbox has seen, and removes the home.
// Call it from afterEach/afterAll; it is idempotent. If the test process exits without it (a
// crashed hook, an uncaught error), an exit hook SIGKILLs the same processes synchronously.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './integration.js';

/** The demo app PM2 runs in the tests (plain CommonJS, no build step). */
export const DEMO_APP_SCRIPT = fileURLToPath(
  new URL('../../src/demo/app/demo-app.cjs', import.meta.url),
);

/** One process of an app, as PM2 lists it. */
export interface Pm2ProcessInfo {
  readonly pmId: number;
  readonly pid: number;
  /** `online`, `launching`, `stopping`, `stopped`, `errored`. */
  readonly status: string;
  readonly restartTime: number;
  readonly execMode: string;
}

export interface DemoAppOptions {
  /** PM2 app name; make it unique per test. */
  readonly name: string;
  readonly instances: number;
  /** Default: a free port. */
  readonly port?: number;
  /** While this file exists, the app's /healthz answers 503. */
  readonly failFile?: string;
  /** Default `cluster` (instances share the port); `fork` to see what PM2 does there. */
  readonly execMode?: 'cluster' | 'fork';
}

export interface DemoApp {
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

export interface Pm2Sandbox {
  /** The sandbox's PM2_HOME: pass it as the driver's `pm2Home`. */
  readonly home: string;
  readonly daemonPid: number;
  /** Starts the demo app and waits until every instance is online and answers over HTTP. */
  startDemoApp(options: DemoAppOptions): Promise<DemoApp>;
  /** The app's live processes (a worker parked during a reload is left out), by pm_id. */
  describe(name: string): Promise<Pm2ProcessInfo[]>;
  /** Stops the daemon and every app process, removes the home. Idempotent. */
  stop(): Promise<void>;
}

/** Milliseconds the last sandbox took to start its daemon and to stop it (for reports). */
export const pm2Timings = { startMs: 0, stopMs: 0 };

const require = createRequire(import.meta.url);
const DAEMON_SCRIPT = require.resolve('pm2/lib/Daemon.js');
const PM2_API_MODULE = 'pm2/lib/API.js';

/** The part of pm2's API object (`new pm2.custom(…)`) the sandbox uses. */
interface Pm2Api {
  connect(done: (error: unknown) => void): void;
  disconnect(done: (error: unknown) => void): void;
  start(options: Record<string, unknown>, done: (error: unknown) => void): void;
  list(done: (error: unknown, list?: unknown) => void): void;
}
type Pm2ApiConstructor = new (options: { pm2_home: string; daemon_mode: boolean }) => Pm2Api;

interface RawProcess {
  pid?: number;
  pm_id?: number | string;
  pm2_env?: { name?: string; status?: string; restart_time?: number; exec_mode?: string };
}

/** Sandboxes not stopped yet, for the exit hook. */
const live = new Set<SandboxImpl>();
let exitHookInstalled = false;

/**
 * Starts a sandbox daemon. `home` (default: a fresh directory under os.tmpdir()) lets a test
 * start a daemon again where a driver already points; stop() removes it either way.
 */
export async function startPm2Sandbox(options: { home?: string } = {}): Promise<Pm2Sandbox> {
  const startedAt = Date.now();
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'healcast-pm2-'));
  mkdirSync(home, { recursive: true });
  const daemon = await spawnDaemon(home);
  const sandbox = new SandboxImpl(home, daemon);
  live.add(sandbox);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const leftover of live) leftover.killNow();
    });
  }
  try {
    await sandbox.connect();
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  pm2Timings.startMs = Date.now() - startedAt;
  return sandbox;
}

class SandboxImpl implements Pm2Sandbox {
  readonly daemonPid: number;
  private api: Pm2Api | undefined;
  private stopped = false;
  /** Every app pid seen, so stop() can make sure none outlives the sandbox. */
  private readonly seenPids = new Set<number>();
  private readonly daemonExited: Promise<void>;

  constructor(
    readonly home: string,
    private readonly daemon: ChildProcess,
  ) {
    this.daemonPid = daemon.pid ?? -1;
    this.daemonExited =
      daemon.exitCode !== null || daemon.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => daemon.once('exit', () => resolve()));
  }

  async connect(): Promise<void> {
    // pm2's API class without pm2's index.js, which would create a ~/.pm2 skeleton (see
    // loadPm2Api in the driver); PM2_PROGRAMMATIC keeps pm2 from printing.
    process.env['PM2_PROGRAMMATIC'] = 'true';
    const { default: Pm2 } = (await import(PM2_API_MODULE)) as { default: Pm2ApiConstructor };
    const api = new Pm2({ pm2_home: this.home, daemon_mode: true });
    // The daemon is up (spawnDaemon waited for it), so connect() only opens the RPC socket.
    await callback((done) => api.connect(done), 'connect to the sandbox daemon');
    this.api = api;
  }

  async startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
    const api = this.liveApi();
    const port = options.port ?? (await freePort());
    const env: Record<string, string> = { PORT: String(port), DEMO_APP_HOST: '127.0.0.1' };
    if (options.failFile !== undefined) env['DEMO_APP_FAIL_FILE'] = options.failFile;
    await callback(
      (done) =>
        api.start(
          {
            name: options.name,
            script: DEMO_APP_SCRIPT,
            exec_mode: options.execMode ?? 'cluster',
            instances: options.instances,
            env,
            // No git look-ups for PM2's version metadata: slow, and not what the tests are about.
            vizion: false,
            autorestart: true,
          },
          done,
        ),
      `start demo app ${options.name}`,
    );
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      `${options.instances} online instances of ${options.name} answering on ${url}`,
      async () => {
        const processes = await this.describe(options.name);
        const online = processes.filter((p) => p.status === 'online').length;
        if (online !== options.instances) return undefined;
        // Online means forked; each instance answers only once it listens.
        const pids = await answeringPids(url, options.instances, 1_000);
        return pids.size === options.instances ? true : undefined;
      },
      // Node start-up of each instance; on a shared 2-core machine under load (load average
      // 5.7) one start took more than 15 s.
      45_000,
      50,
    );
    return { name: options.name, port, url };
  }

  async describe(name: string): Promise<Pm2ProcessInfo[]> {
    const api = this.liveApi();
    const raw = await callback<unknown>((done) => api.list(done), 'list pm2 processes');
    const out: Pm2ProcessInfo[] = [];
    for (const entry of (raw ?? []) as RawProcess[]) {
      const env = entry.pm2_env;
      if (typeof entry.pm_id !== 'number' || env?.name !== name) continue;
      const pid = entry.pid ?? 0;
      if (pid > 0) this.seenPids.add(pid);
      out.push({
        pmId: entry.pm_id,
        pid,
        status: env.status ?? 'unknown',
        restartTime: env.restart_time ?? 0,
        execMode: env.exec_mode ?? 'unknown',
      });
    }
    return out.sort((a, b) => a.pmId - b.pmId);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const startedAt = Date.now();
    try {
      this.rememberPidFiles();
      const api = this.api;
      this.api = undefined;
      if (api !== undefined) {
        await Promise.race([
          callback((done) => api.disconnect(done), 'disconnect').catch(() => undefined),
          sleep(1_000),
        ]);
      }
      // Graceful first: PM2 stops every app (SIGINT, then SIGKILL after kill_timeout), exits.
      this.signalDaemon('SIGTERM');
      await Promise.race([this.daemonExited, sleep(5_000)]);
    } finally {
      this.killNow(false);
      await waitFor(
        `the processes of PM2 sandbox ${this.home} to be gone`,
        () => (this.daemonRunning() || this.appPids().length > 0 ? undefined : true),
        5_000,
        50,
      ).finally(() => rmSync(this.home, { recursive: true, force: true }));
      pm2Timings.stopMs = Date.now() - startedAt;
    }
  }

  /** Synchronous last resort (also the exit hook): SIGKILL everything of this sandbox. */
  killNow(removeHome = true): void {
    live.delete(this);
    this.rememberPidFiles();
    this.signalDaemon('SIGKILL');
    for (const pid of this.appPids()) signal(pid, 'SIGKILL');
    if (removeHome) rmSync(this.home, { recursive: true, force: true });
  }

  private daemonRunning(): boolean {
    // Node reaps its own children, so until it reports the exit the pid is still the daemon's.
    return this.daemon.exitCode === null && this.daemon.signalCode === null;
  }

  private signalDaemon(name: NodeJS.Signals): void {
    if (this.daemonRunning()) signal(this.daemonPid, name);
  }

  /**
   * Seen app pids that are still processes of this sandbox: running (not a zombie) and
   * carrying this PM2_HOME in their environment, so a pid the OS has reused for someone
   * else's process is never signalled.
   */
  private appPids(): number[] {
    return [...this.seenPids].filter((pid) => isSandboxProcess(pid, this.home));
  }

  /** PM2 writes each process's pid to <home>/pids/<name>-<pm_id>.pid. */
  private rememberPidFiles(): void {
    let files: string[];
    try {
      files = readdirSync(join(this.home, 'pids'));
    } catch {
      return;
    }
    for (const file of files) {
      try {
        const pid = Number(readFileSync(join(this.home, 'pids', file), 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0) this.seenPids.add(pid);
      } catch {
        // Removed by PM2 between readdir and read: that process is gone.
      }
    }
  }

  private liveApi(): Pm2Api {
    // pm2 would spawn a fresh daemon for a call on a disconnected API object.
    if (this.stopped || this.api === undefined) {
      throw new Error(`PM2 sandbox ${this.home} is stopped`);
    }
    return this.api;
  }
}

/** Spawns PM2's daemon for `home` and waits for its "online" message. */
async function spawnDaemon(home: string): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // PM2_* (paths, ports) and pm_id (set inside a PM2-managed process) would leak the
    // caller's PM2 into the sandbox.
    if (!key.startsWith('PM2_') && key !== 'pm_id') env[key] = value;
  }
  Object.assign(env, { PM2_HOME: home, SILENT: 'true' });
  const log = openSync(join(home, 'pm2.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [DAEMON_SCRIPT], {
      detached: true,
      env,
      stdio: ['ignore', log, log, 'ipc'],
    });
  } finally {
    closeSync(log);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('PM2 daemon did not start in 10 s')), 10_000);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`PM2 daemon exited at start (${code ?? sig}); see ${home}/pm2.log`));
      });
    });
  } catch (error) {
    if (child.pid !== undefined) signal(child.pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  child.disconnect();
  child.unref();
  return child;
}

/** A TCP port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * GET `url` on a fresh connection (no keep-alive), so successive calls are spread over the
 * cluster's instances.
 */
export function httpGet(url: string, timeoutMs = 2_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The distinct pids answering `GET /` of the demo app: asks until `expected` of them have
 * answered or `timeoutMs` has passed (then fewer come back). An instance PM2 reports online
 * may take a moment more to listen.
 */
export async function answeringPids(
  url: string,
  expected: number,
  timeoutMs = 5_000,
): Promise<Set<number>> {
  const pids = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (pids.size < expected && Date.now() < deadline) {
    const answer = await httpGet(`${url}/`);
    if (answer.status === 200) pids.add((JSON.parse(answer.body) as { pid: number }).pid);
    else await sleep(20);
  }
  return pids;
}

function callback<T = void>(
  invoke: (done: (error: unknown, value?: T) => void) => void,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    invoke((error, value) => {
      if (error === null || error === undefined) resolve(value as T);
      else
        reject(
          new Error(`${what}: ${error instanceof Error ? error.message : JSON.stringify(error)}`),
        );
    });
  });
}

function isSandboxProcess(pid: number, home: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name: Z = exited, not yet reaped.
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PM2_HOME=${home}`);
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
