import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';

/** The TensorFlow.js namespace, as `import * as tf from '@tensorflow/tfjs'` gives it. */
export type Tf = typeof tfjs;

/**
 * TensorFlow.js backends healcast can run on, fastest first: `tensorflow` is tfjs-node's
 * native libtensorflow (an optional dependency whose install downloads the library, so it
 * is often absent), `wasm` ships inside its npm package and runs everywhere, `cpu` is pure
 * JavaScript and 3–20× slower than `wasm`.
 */
export type TfjsBackendName = 'tensorflow' | 'wasm' | 'cpu';

/** The backends in order of preference when none is asked for. */
export const BACKEND_PREFERENCE: readonly TfjsBackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The initialised TensorFlow.js: the namespace and the backend that runs it. */
export interface TfjsRuntime {
  readonly tf: Tf;
  /** The backend in use: one of {@link TfjsBackendName}. */
  readonly backend: TfjsBackendName;
  /**
   * Why each backend preferred over the one in use is not used (e.g. tfjs-node not
   * installed), for the start-up log: a slow backend should never be a silent surprise.
   */
  readonly skipped: Readonly<Partial<Record<TfjsBackendName, string>>>;
}

interface Loaded {
  readonly tf: Tf;
  readonly unavailable: Partial<Record<TfjsBackendName, string>>;
}

let loading: Promise<Loaded> | undefined;
/** Backend switches run one after the other: tfjs has one global engine per thread. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Loads TensorFlow.js once per thread (module state is per worker_thread, so a processor
 * thread gets its own engine) and returns it running on the best available backend, or on
 * `preferred` when that one is available. Idempotent: later calls return the same namespace
 * and switch backends only when asked for another one, which lets a benchmark compare `cpu`
 * with `wasm` in one process. Never throws for a missing backend: `cpu` always works.
 */
export function initTfjs(preferred?: TfjsBackendName): Promise<TfjsRuntime> {
  const run = queue.then(() => selectBackend(preferred));
  queue = run.catch(() => undefined);
  return run;
}

/**
 * Switches to exactly `name` (benchmarks compare backends in one process) and fails if that
 * backend cannot run here, rather than silently measuring another one.
 */
export async function setBackendForBench(name: TfjsBackendName): Promise<TfjsRuntime> {
  const runtime = await initTfjs(name);
  if (runtime.backend !== name) {
    throw new Error(
      `TensorFlow.js backend ${name} is not available here: ${runtime.skipped[name] ?? 'unknown reason'}`,
    );
  }
  return runtime;
}

async function selectBackend(preferred: TfjsBackendName | undefined): Promise<TfjsRuntime> {
  loading ??= load();
  const { tf, unavailable } = await loading;
  const order =
    preferred === undefined
      ? BACKEND_PREFERENCE
      : [preferred, ...BACKEND_PREFERENCE.filter((name) => name !== preferred)];
  const skipped: Partial<Record<TfjsBackendName, string>> = {};
  for (const name of order) {
    const reason = unavailable[name];
    if (reason !== undefined) {
      skipped[name] = reason;
      continue;
    }
    // engine().backendName, unlike tf.getBackend(), does not initialise a backend as a side effect.
    if (tf.engine().backendName === name || (await tf.setBackend(name))) {
      await tf.ready();
      return { tf, backend: name, skipped };
    }
    // tf.setBackend only answers false (its warning is muted in production mode); remember
    // it so later calls do not retry a backend that cannot start.
    unavailable[name] = 'the backend failed to initialise';
    skipped[name] = unavailable[name];
  }
  throw new Error('no TensorFlow.js backend could be initialised (not even cpu)');
}

async function load(): Promise<Loaded> {
  const unavailable: Partial<Record<TfjsBackendName, string>> = {};
  // tfjs-node first: importing it registers the `tensorflow` backend on the very
  // @tensorflow/tfjs it depends on (the same copy as ours when npm dedupes it, which the
  // matching version ranges make the rule). A variable specifier keeps TypeScript from
  // requiring the optional package's types at build time.
  const tfjsNode = '@tensorflow/tfjs-node';
  try {
    await import(tfjsNode);
  } catch (error) {
    unavailable.tensorflow = isModuleNotFound(error, tfjsNode)
      ? 'optional dependency @tensorflow/tfjs-node is not installed'
      : `@tensorflow/tfjs-node failed to load: ${String(error)}`;
  }
  const tf = await import('@tensorflow/tfjs');
  // Production mode only mutes tfjs' console warnings (the "install tfjs-node" banner on the
  // cpu backend, platform notices); which backend runs is reported by initTfjs instead.
  tf.env().set('PROD', true);
  if (tf.findBackendFactory('tensorflow') === null) {
    unavailable.tensorflow ??= '@tensorflow/tfjs-node loaded into another copy of tfjs';
  }
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries ship in the package's dist/; pointing at them on disk keeps the
    // backend from fetching anything (this machine, and many production hosts, are offline).
    wasm.setWasmPaths(wasmDirectory());
  } catch (error) {
    unavailable.wasm = `@tensorflow/tfjs-backend-wasm failed to load: ${String(error)}`;
  }
  return { tf, unavailable };
}

/** The directory holding tfjs-backend-wasm's .wasm files, with a trailing separator. */
export function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  // The package's main entry lives in dist/, beside the .wasm files.
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

function isModuleNotFound(error: unknown, specifier: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    // Quoted: the package itself is missing, not a file inside it (a broken native binding).
    message.includes(`'${specifier}'`)
  );
}
