import { connect as netConnect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { TargetError } from '../../errors.js';
import type {
  DriverContext,
  EffectReport,
  ObserveContext,
  TargetDriver,
  TargetObservation,
} from '../../execute/targetDriver.js';
import type { ActionEnvelope } from '../../dispatch/envelope.js';

/**
 * A PM2 target in the executor's config (`driver: pm2`).
 *
 * - `app`: the PM2 app name (`pm2 start … --name web`); all its processes are the target.
 * - `restart`: how `restart` restarts when the action does not say: `reload` (default) is
 *   PM2's rolling reload — in cluster mode each instance is replaced only after its successor
 *   listens, so no request is refused; in fork mode PM2 falls back to a plain restart.
 *   `restart` stops and starts every instance.
 * - `scaleForkMode`: `scale` adds instances to a fork-mode app only when this is true. PM2
 *   "scales" fork mode by duplicating the process; duplicates that bind the same port die with
 *   EADDRINUSE and crash-loop, so this is only for apps that listen on nothing (queue workers).
 */
export const Pm2TargetSettingsSchema = z.strictObject({
  app: z.string().min(1),
  restart: z.enum(['reload', 'restart']).default('reload'),
  scaleForkMode: z.boolean().default(false),
});
export type Pm2TargetSettings = z.infer<typeof Pm2TargetSettingsSchema>;

/** Construction options of {@link Pm2Driver}. */
export interface Pm2DriverOptions {
  /**
   * The PM2 home whose daemon the driver talks to (its `rpc.sock` lives there). Default: PM2's
   * own default, `$PM2_HOME` or `~/.pm2`. Tests pass a sandbox home so they never touch a
   * user's PM2.
   */
  readonly pm2Home?: string;
  /** Bound on connecting and on reads (`observe`). Default 5 s. */
  readonly rpcTimeoutMs?: number;
}

/**
 * Pm2Driver — the TargetDriver port on a PM2 daemon, through pm2's programmatic API.
 *
 * Connection: lazy, on the first call, to the daemon of one PM2 home. The driver never starts
 * a daemon (pm2's own `connect()` spawns one when none answers, which would hide a dead PM2
 * behind an empty one): a missing or dead daemon is a retriable error. A call that times out
 * or is aborted drops the connection, because the RPC socket queues requests while the daemon
 * is away and would otherwise run them late on a restarted daemon — after the executor has
 * already given up on them. The next call connects afresh. `close()` only disconnects.
 *
 * Observation (`observe`):
 * - `replicas`: the app's processes (any status); `readyReplicas`: those `online`.
 * - `restartMarker`: the highest `restart_time` among the app's processes. A restart or a
 *   reload increments `restart_time` of every process; a scale-up adds processes starting at
 *   0, and this driver scales down by deleting the newest processes, so scaling leaves the
 *   maximum alone. Limits: PM2 also counts its own crash restarts there, so an instance that
 *   crashed and was restarted by PM2 changes the marker too (the target did restart); a
 *   reload interrupted after its first instance already counts as done; deleting and starting
 *   the app again resets the counters (the marker may then repeat an older value); restarting
 *   an app whose processes are all stopped starts them without counting.
 * - `revision`: PM2's `version` of the app (from the package.json nearest to its script),
 *   when PM2 found one.
 *
 * Rollback: PM2 keeps no revisions, so `supports(…, 'rollback')` is false and `rollback()`
 * throws a non-retriable error.
 */
export class Pm2Driver implements TargetDriver<Pm2TargetSettings> {
  readonly type = 'pm2' as const;
  private readonly home: string;
  private readonly rpcTimeoutMs: number;
  private current: Pm2Connection | undefined;
  private opening: Promise<Pm2Connection> | undefined;

  constructor(options: Pm2DriverOptions = {}) {
    this.home = options.pm2Home ?? process.env['PM2_HOME'] ?? join(homedir(), '.pm2');
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 5_000;
  }

  supports(_settings: Pm2TargetSettings, action: ActionEnvelope['type']): boolean {
    return action === 'scale' || action === 'restart';
  }

  async observe(settings: Pm2TargetSettings, ctx: ObserveContext): Promise<TargetObservation> {
    const processes = await this.appProcesses(settings.app, ctx.signal);
    return observationOf(processes);
  }

  async scale(
    settings: Pm2TargetSettings,
    replicas: number,
    ctx: DriverContext,
  ): Promise<EffectReport> {
    const { app } = settings;
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new TargetError(
        `cannot scale pm2 app ${app} to ${replicas} instances: PM2 needs a whole number of at least 1 (scaling to 0 deletes the app)`,
        { retriable: false },
      );
    }
    const processes = await this.appProcesses(app, ctx.signal);
    const from = processes.length;
    const execMode = execModeOf(processes);
    if (from === replicas) {
      return {
        summary: `pm2 app ${app} already runs ${replicas} instances`,
        details: { from, to: replicas, changed: false, execMode },
      };
    }
    if (replicas > from) {
      if (execMode === 'fork' && !settings.scaleForkMode) {
        throw new TargetError(
          `cannot scale pm2 app ${app} up: it runs in fork mode, where PM2 duplicates the process and duplicates that bind the same port crash-loop; start it in cluster mode (exec_mode: cluster, or -i N), or set scaleForkMode for an app that listens on no port`,
          { retriable: false },
        );
      }
      // One duplicate at a time of the oldest live process (what `pm2 scale` does), counting
      // from our own list: PM2's count would include a worker parked by a running reload.
      const template = Math.min(...processes.map((p) => p.pmId));
      for (let added = from; added < replicas; added += 1) {
        await this.mutate(`scale pm2 app ${app} up`, app, ctx.signal, (api, done) =>
          api.Client.executeRemote('duplicateProcessId', template, done),
        );
      }
    } else {
      // Newest first (highest pm_id), unlike `pm2 scale`, which deletes the oldest: the
      // survivors keep their restart counters, so the restart marker stays put.
      const newestFirst = [...processes].sort((a, b) => b.pmId - a.pmId);
      for (const victim of newestFirst.slice(0, from - replicas)) {
        await this.mutate(`scale pm2 app ${app} down`, app, ctx.signal, (api, done) =>
          api.Client.executeRemote('deleteProcessId', victim.pmId, done),
        );
      }
    }
    return {
      summary: `scaled pm2 app ${app} from ${from} to ${replicas} instances`,
      details: { from, to: replicas, changed: true, execMode },
    };
  }

  async restart(settings: Pm2TargetSettings, ctx: DriverContext): Promise<EffectReport> {
    const { app } = settings;
    const mode = restartModeOf(settings, ctx.envelope.parameters);
    const processes = await this.appProcesses(app, ctx.signal);
    const execMode = execModeOf(processes);
    await this.mutate(`${mode} pm2 app ${app}`, app, ctx.signal, (api, done) =>
      mode === 'reload' ? api.reload(app, {}, done) : api.restart(app, {}, done),
    );
    const rolling = mode === 'reload' && execMode === 'cluster';
    return {
      summary: `${mode === 'reload' ? 'reloaded' : 'restarted'} pm2 app ${app} (${processes.length} instances${rolling ? ', rolling' : ''})`,
      details: { mode, rolling, instances: processes.length, execMode },
    };
  }

  rollback(settings: Pm2TargetSettings, _ctx: DriverContext): Promise<EffectReport> {
    return Promise.reject(
      new TargetError(
        `cannot roll back pm2 app ${settings.app}: PM2 keeps no revisions to return to (deploy the previous version and reload instead)`,
        { retriable: false },
      ),
    );
  }

  async close(): Promise<void> {
    // A connection still being opened is closed as soon as it is there.
    await this.opening?.catch(() => undefined);
    const current = this.current;
    this.current = undefined;
    await current?.close();
  }

  /** The app's processes; throws the non-retriable "not found" naming the apps there are. */
  private async appProcesses(app: string, signal: AbortSignal): Promise<Pm2Process[]> {
    const connection = await this.connection(signal);
    const raw = await connection
      .call<unknown>('list pm2 processes', this.rpcTimeoutMs, signal, (api, done) => api.list(done))
      .catch((error: unknown) => {
        throw toTargetError(`list pm2 processes`, app, error);
      });
    const processes = parseProcessList(raw);
    const mine = processes.filter((p) => p.name === app);
    if (mine.length === 0) throw appNotFound(app, this.home, processes);
    return mine;
  }

  /**
   * One mutation (scale step, reload, restart), bounded only by the caller's signal: the
   * executor's action deadline (`actionTimeout`) covers the whole action, and a rolling reload
   * legitimately takes as long as its instances need to listen (PM2's listen_timeout each).
   */
  private async mutate(
    what: string,
    app: string,
    signal: AbortSignal,
    invoke: (api: Pm2Api, done: Pm2Callback<unknown>) => void,
  ): Promise<void> {
    const connection = await this.connection(signal);
    await connection.call(what, undefined, signal, invoke).catch((error: unknown) => {
      throw toTargetError(what, app, error);
    });
  }

  private async connection(signal: AbortSignal): Promise<Pm2Connection> {
    const current = this.current;
    if (current?.usable() === true) return current;
    if (this.opening === undefined) {
      this.opening = Pm2Connection.open(this.home, this.rpcTimeoutMs).then(
        (connection) => {
          this.current = connection;
          this.opening = undefined;
          return connection;
        },
        (error: unknown) => {
          this.opening = undefined;
          throw error;
        },
      );
    }
    return abortable(this.opening, signal, `connect to the PM2 daemon at ${this.home}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Observation and decisions (pure)

/** One process of PM2's list, reduced to what the driver reads. */
interface Pm2Process {
  readonly name: string;
  /** PM2's id; numeric for live processes (a worker parked during a reload has `_old_<id>`). */
  readonly pmId: number;
  readonly status: string;
  readonly restartTime: number;
  readonly execMode: string;
  readonly version: string | undefined;
}

const Pm2ListEntrySchema = z.object({
  pm_id: z.union([z.number(), z.string()]),
  pm2_env: z.object({
    name: z.string(),
    status: z.string(),
    restart_time: z.number(),
    exec_mode: z.string(),
    version: z.string().optional(),
  }),
});

function parseProcessList(raw: unknown): Pm2Process[] {
  const parsed = z.array(Pm2ListEntrySchema).safeParse(raw);
  if (!parsed.success) {
    throw new TargetError(
      `PM2 answered with a process list this driver does not understand (pm2 version mismatch?): ${parsed.error.message}`,
      { retriable: false },
    );
  }
  const processes: Pm2Process[] = [];
  for (const entry of parsed.data) {
    // A reload parks the outgoing worker under a string id while its successor starts; it is
    // not an instance of its own.
    if (typeof entry.pm_id !== 'number') continue;
    const env = entry.pm2_env;
    processes.push({
      name: env.name,
      pmId: entry.pm_id,
      status: env.status,
      restartTime: env.restart_time,
      execMode: env.exec_mode,
      version: env.version === undefined || env.version === 'N/A' ? undefined : env.version,
    });
  }
  return processes;
}

function observationOf(processes: readonly Pm2Process[]): TargetObservation {
  const restartMarker = String(Math.max(...processes.map((p) => p.restartTime)));
  const revision = processes.find((p) => p.version !== undefined)?.version;
  return {
    replicas: processes.length,
    readyReplicas: processes.filter((p) => p.status === 'online').length,
    restartMarker,
    ...(revision === undefined ? {} : { revision }),
  };
}

function execModeOf(processes: readonly Pm2Process[]): 'cluster' | 'fork' {
  return processes.some((p) => p.execMode === 'fork_mode') ? 'fork' : 'cluster';
}

/** `parameters.strategy` overrides the target's `restart` setting. */
function restartModeOf(
  settings: Pm2TargetSettings,
  parameters: Readonly<Record<string, unknown>>,
): 'reload' | 'restart' {
  const strategy = parameters['strategy'];
  if (strategy === undefined) return settings.restart;
  if (strategy === 'rolling' || strategy === 'reload') return 'reload';
  if (strategy === 'recreate' || strategy === 'restart') return 'restart';
  throw new TargetError(
    `cannot restart pm2 app ${settings.app}: unknown restart strategy ${JSON.stringify(strategy)} (pm2 knows rolling/reload and recreate/restart)`,
    { retriable: false },
  );
}

function appNotFound(app: string, home: string, processes: readonly Pm2Process[]): TargetError {
  const names = [...new Set(processes.map((p) => p.name))].sort();
  const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')}, …` : names.join(', ');
  return new TargetError(
    `pm2 app ${app} not found in the PM2 daemon at ${home}; apps there: ${names.length === 0 ? '(none)' : shown}`,
    { retriable: false },
  );
}

/** Turns what a pm2 callback reported into a TargetError; ours pass through. */
function toTargetError(what: string, app: string, error: unknown): TargetError {
  if (error instanceof TargetError) return error;
  const message = messageOf(error);
  // The app vanished between our list and PM2's own lookup by name.
  if (/not found/i.test(message)) {
    return new TargetError(`${what}: pm2 app ${app} not found (${message})`, {
      retriable: false,
      cause: error,
    });
  }
  // Everything else PM2 reports is a state that passes: another reload holding the lock
  // ("Reload in progress"), a process still parked from the last reload, a process deleted
  // under our feet ("id unknown"), PM2 shutting down.
  return new TargetError(`${what}: PM2 refused: ${message}`, { retriable: true, cause: error });
}

// ---------------------------------------------------------------------------------------------
// The connection (pm2's programmatic API, typed for the part the driver uses)

type Pm2Callback<T> = (error: unknown, value?: T) => void;

/** The pm2 API object (`new (require('pm2').custom)(…)`), as far as this driver uses it. */
interface Pm2Api {
  list(done: Pm2Callback<unknown>): void;
  reload(name: string, options: Record<string, never>, done: Pm2Callback<unknown>): void;
  restart(name: string, options: Record<string, never>, done: Pm2Callback<unknown>): void;
  disconnect(done: Pm2Callback<unknown>): void;
  readonly Client: Pm2RpcClient;
}

/**
 * pm2's lib/Client.js: the RPC client under the API object. `executeRemote` calls the
 * daemon's own methods (lib/Daemon.js exposes them: `duplicateProcessId`, `deleteProcessId`,
 * …), which act on one process id with no lookup by name in between.
 */
interface Pm2RpcClient {
  /** Connects to the daemon's RPC socket without pinging or spawning a daemon. */
  launchRPC(done: (error?: unknown) => void): void;
  executeRemote(method: string, argument: unknown, done?: Pm2Callback<unknown>): void;
  readonly client_sock?: AxonSocket;
}

/** The RPC socket (pm2-axon): reconnects by itself and queues requests meanwhile. */
interface AxonSocket {
  readonly closing?: boolean;
  close(): void;
  on(event: 'connect' | 'reconnect attempt', listener: () => void): void;
}

type Pm2ApiConstructor = new (options: { pm2_home: string; daemon_mode: boolean }) => Pm2Api;

/** pm2's API class — what `require('pm2').custom` is — imported without pm2's index.js. */
const PM2_API_MODULE = 'pm2/lib/API.js';

/** Loaded on first use: pm2 is slow to import and only the PM2 targets need it. */
let pm2ApiConstructor: Promise<Pm2ApiConstructor> | undefined;

function loadPm2Api(): Promise<Pm2ApiConstructor> {
  // pm2's index.js does two things on import: it sets PM2_PROGRAMMATIC, without which pm2
  // prints to stdout (and exits the process after a call made without a callback), and it
  // builds a default API object, which creates a ~/.pm2 skeleton even when the driver is
  // meant for another home. Do the first, skip the second.
  process.env['PM2_PROGRAMMATIC'] = 'true';
  pm2ApiConstructor ??= (import(PM2_API_MODULE) as Promise<{ default?: unknown }>).then(
    (module) => {
      if (typeof module.default !== 'function') {
        throw new TargetError(`the installed pm2 has no API class in ${PM2_API_MODULE}`, {
          retriable: false,
        });
      }
      return module.default as Pm2ApiConstructor;
    },
  );
  return pm2ApiConstructor;
}

class Pm2Connection {
  private closed = false;
  private readonly pending = new Set<(error: TargetError) => void>();

  private constructor(
    private readonly api: Pm2Api,
    private readonly home: string,
  ) {}

  /** Connects to the running daemon of `home`; a missing daemon is a retriable error. */
  static async open(home: string, timeoutMs: number): Promise<Pm2Connection> {
    await probeDaemon(home, timeoutMs);
    const Pm2 = await loadPm2Api();
    // Quirk: the constructor writes this home's paths into pm2's module-wide constants (the
    // reload lock file, for one), so one process should drive one PM2 home at a time.
    const api = new Pm2({ pm2_home: home, daemon_mode: true });
    const connection = new Pm2Connection(api, home);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(daemonError(home, `did not accept a connection within ${timeoutMs} ms`)),
          timeoutMs,
        );
        api.Client.launchRPC((error) => {
          clearTimeout(timer);
          if (error === undefined || error === null) resolve();
          else reject(daemonError(home, `refused the connection: ${messageOf(error)}`, error));
        });
      });
    } catch (error) {
      await connection.close();
      throw error;
    }
    // The daemon went away: fail what is in flight now rather than at its timeout.
    api.Client.client_sock?.on('reconnect attempt', () => {
      connection.drop(daemonError(home, 'closed the connection (daemon stopped or restarted)'));
    });
    return connection;
  }

  usable(): boolean {
    return !this.closed;
  }

  /**
   * Runs one pm2 API call, bounded by `signal` and, when given, `timeoutMs`. A pm2 error is passed on as
   * it is; a timeout or an abort rejects with a retriable TargetError and drops the
   * connection (see the class comment of Pm2Driver).
   */
  call<T>(
    what: string,
    timeoutMs: number | undefined,
    signal: AbortSignal,
    invoke: (api: Pm2Api, done: Pm2Callback<T>) => void,
  ): Promise<T> {
    if (this.closed) {
      return Promise.reject(daemonError(this.home, 'connection already closed'));
    }
    if (signal.aborted) {
      return Promise.reject(
        new TargetError(`${what}: aborted before it started`, { retriable: true }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (act: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(fail);
        act();
      };
      const fail = (error: TargetError): void => settle(() => reject(error));
      const onAbort = (): void => {
        fail(new TargetError(`${what}: aborted`, { retriable: true, cause: signal.reason }));
        this.drop(daemonError(this.home, 'connection dropped after a call was aborted'));
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              fail(daemonError(this.home, `did not finish "${what}" within ${timeoutMs} ms`));
              this.drop(daemonError(this.home, 'connection dropped after a call timed out'));
            }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.add(fail);
      try {
        invoke(this.api, (error, value) =>
          settle(() => (error ? reject(asError(error)) : resolve(value as T))),
        );
      } catch (error) {
        settle(() => reject(asError(error)));
      }
    });
  }

  /** Fails every call in flight with `error` and closes. */
  drop(error: TargetError): void {
    for (const fail of [...this.pending]) fail(error);
    void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const api = this.api;
    // pm2 reconnects (and spawns a daemon when none answers) on any later call through this
    // API object — including the remaining steps of a multi-step call that was cut short.
    // Make every such call fail instead, before anything else can slip through.
    Object.assign(api.Client, {
      executeRemote: (_method: string, _argument: unknown, done?: Pm2Callback<unknown>) => {
        done?.(new Error('healcast closed this PM2 connection'));
      },
    });
    const disconnected = new Promise<void>((resolve) => {
      api.disconnect(() => resolve());
    });
    await Promise.race([disconnected, delay(500)]);
    // pm2's disconnect leaves the socket alone when it is already down, and axon would keep
    // reconnecting to it; close it for good, even if a reconnect was under way.
    const socket = api.Client.client_sock;
    if (socket !== undefined) {
      if (socket.closing !== true) socket.close();
      socket.on('connect', () => socket.close());
    }
  }
}

/**
 * Whether a daemon listens on `<home>/rpc.sock`, without starting one. A socket file left by
 * a killed daemon refuses connections.
 */
function probeDaemon(home: string, timeoutMs: number): Promise<void> {
  const path = join(home, 'rpc.sock');
  return new Promise<void>((resolve, reject) => {
    const socket = netConnect({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(daemonError(home, `did not accept a connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
        reject(daemonError(home, 'is not running (nothing listens on its rpc.sock)', error));
      } else if (error.code === 'EACCES' || error.code === 'EPERM') {
        reject(
          new TargetError(`no permission to reach the PM2 daemon at ${home}: ${error.message}`, {
            retriable: false,
            cause: error,
          }),
        );
      } else {
        reject(daemonError(home, `could not be reached: ${error.message}`, error));
      }
    });
  });
}

function daemonError(home: string, what: string, cause?: unknown): TargetError {
  return new TargetError(`the PM2 daemon at ${home} ${what}`, {
    retriable: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) {
    return Promise.reject(new TargetError(`${what}: aborted`, { retriable: true }));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(new TargetError(`${what}: aborted`, { retriable: true, cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(error));
      },
    );
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return JSON.stringify(error) ?? 'unknown error';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(messageOf(error));
}
