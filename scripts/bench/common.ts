/**
 * Helpers shared by the benchmark scripts: statistics, formatting, child processes and the
 * deterministic data the measurements are made of. Nothing here is timed.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * True when running the compiled bench (dist/scripts/bench/*.js, what `npm run bench` runs):
 * then the worker's processor thread loads plain JavaScript, as in production, instead of
 * going through the tsx loader.
 */
export const COMPILED = import.meta.url.endsWith('.js');

/** Repository root (two levels above scripts/bench, three above dist/scripts/bench). */
export const ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  ...(COMPILED ? ['..', '..', '..'] : ['..', '..']),
);

/** Median of `values` (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `1234567.8` → `1,234,568` (or with `digits` decimals). */
export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Bytes in MiB with one decimal. */
export function mib(bytes: number): string {
  return `${fmt(bytes / 1_048_576, 1)} MiB`;
}

/** Renders rows as a plain-text table with a header rule; the first column left-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Verdict against a target: `pass` with the margin, or `MISS` with how far off: a cost
 * (`lowerIsBetter`: ns, bytes) by how much it is over, a rate or ratio by how much it is short.
 */
export function verdict(value: number, target: number, lowerIsBetter: boolean): string {
  if (!Number.isFinite(value)) return 'n/a';
  const ok = lowerIsBetter ? value <= target : value >= target;
  if (ok) return `pass (${fmt(lowerIsBetter ? target / value : value / target, 2)}x margin)`;
  return lowerIsBetter
    ? `MISS: ${fmt((value / target - 1) * 100, 0)}% over`
    : `MISS: ${fmt((1 - value / target) * 100, 0)}% short`;
}

/** Deterministic PRNG (mulberry32): the benchmark data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Marker of the one result line a child benchmark prints on stdout. */
export const RESULT_MARKER = 'BENCH_RESULT ';

/** Prints a child's result for the parent to pick up. */
export function emitResult(result: unknown): void {
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

/**
 * Runs `scripts/bench/<script>` in a fresh Node process (compiled, or through tsx) with `job` as its JSON
 * argument, and returns the object it emitted. Its stderr goes to ours (progress lines).
 */
export function runChild<T>(script: string, job: unknown, nodeArgs: string[] = []): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      COMPILED
        ? [
            ...nodeArgs,
            join(ROOT, 'dist', 'scripts', 'bench', script.replace(/\.ts$/, '.js')),
            JSON.stringify(job),
          ]
        : [
            ...nodeArgs,
            '--import',
            'tsx',
            join(ROOT, 'scripts', 'bench', script),
            JSON.stringify(job),
          ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (code !== 0 || line === undefined) {
        reject(
          new Error(
            `${script} exited with ${code ?? signal ?? '?'}${line === undefined ? ' without a result' : ''}\n${stdout.slice(-2000)}`,
          ),
        );
        return;
      }
      resolvePromise(JSON.parse(line.slice(RESULT_MARKER.length)) as T);
    });
  });
}

/** Reads the job a parent passed to a child script. */
export function readJob<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('expected the job as a JSON argument');
  return JSON.parse(raw) as T;
}

/** Progress line on stderr, so stdout stays the report. */
export function progress(message: string): void {
  process.stderr.write(`  · ${message}\n`);
}

/** Monotonic milliseconds. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
