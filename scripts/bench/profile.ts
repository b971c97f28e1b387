/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per code area
 * (kafkajs, healcast decode, healcast core, prom-client, tfjs, WebAssembly, GC, ...) and the
 * hottest functions.
 */
import { readFileSync } from 'node:fs';

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly startTime: number;
  readonly endTime: number;
  readonly nodes: readonly CpuProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time of one code area or function. */
export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  /** Share of the busy (not idle) time, 0..1. */
  readonly share: number;
}

/** What a profile says. */
export interface ProfileSummary {
  readonly file: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly areas: ProfileEntry[];
  readonly functions: ProfileEntry[];
}

/** Code area of a call frame, by its source URL. */
function areaOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'V8 builtins';
  }
  if (url.startsWith('wasm://')) return 'WebAssembly (tfjs-backend-wasm kernels)';
  const packageMatch = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (packageMatch) {
    const name = packageMatch[1] as string;
    return name === 'tsx' || name === 'esbuild' || name.startsWith('@esbuild')
      ? 'tsx loader (startup)'
      : name;
  }
  if (url.startsWith('node:')) return 'node internals';
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) {
    const folder = src[1] as string;
    if (folder === 'ingest') return 'healcast ingest (decode)';
    if (
      folder === 'pipeline' ||
      folder === 'baseline' ||
      folder === 'policy' ||
      folder === 'dispatch'
    )
      return `healcast ${folder}`;
    return `healcast ${folder}`;
  }
  if (url.includes('/scripts/bench/')) return 'bench harness';
  if (url.includes('/src/')) return 'healcast (other)';
  return 'other';
}

/**
 * Reads and summarises `file`; `top` hottest functions are listed. With `window` (monotonic
 * milliseconds, the clock of process.hrtime, which V8's profiler also uses) only the samples
 * inside it count, so start-up and shutdown can be left out.
 */
export function summariseProfile(
  file: string,
  top = 15,
  window?: { readonly startMs: number; readonly endMs: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  let atUs = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    atUs += delta;
    if (window !== undefined && (atUs < window.startMs * 1000 || atUs > window.endMs * 1000))
      return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    if (area === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const shortUrl = url.replace(/^.*\/(node_modules|src|scripts)\//, '$1/');
    // tsx-compiled sources report line 1 for everything: their name is enough.
    const where =
      shortUrl.startsWith('src/') || shortUrl.startsWith('scripts/')
        ? shortUrl
        : `${shortUrl}:${lineNumber + 1}`;
    const fn = `${functionName || '(anonymous)'} ${shortUrl === '' ? '' : where}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const entries = (map: Map<string, number>): ProfileEntry[] =>
    [...map]
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return {
    file,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    areas: entries(areas),
    functions: entries(functions).slice(0, top),
  };
}
