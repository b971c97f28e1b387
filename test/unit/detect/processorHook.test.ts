import { describe, expect, it } from 'vitest';
import { BaselineArrays, BaselineConfigSchema, observe } from '../../../src/baseline/ewma.js';
import { DetectorConfigSchema } from '../../../src/detect/config.js';
import { SeriesDetector } from '../../../src/detect/detector.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { SourceRecord } from '../../../src/ingest/source.js';
import { Processor, type ScoredSample } from '../../../src/pipeline/processor.js';
import { jsonMessage } from '../../helpers/fakes.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const baseline = BaselineConfigSchema.parse({ warmupSamples: 5 });
const detector = DetectorConfigSchema.parse({ metrics: ['cpu'], warmupSamples: 20 });

function processor(onSampleScored?: (s: ScoredSample) => void, withDetector = true): Processor {
  return new Processor({
    policies: [],
    baseline,
    maxSeries: 10,
    format: 'json',
    limits: DEFAULT_DECODE_LIMITS,
    ...(withDetector ? { detector } : {}),
    ...(onSampleScored === undefined ? {} : { onSampleScored }),
  });
}

function record(name: string, minute: number, value: number): SourceRecord {
  return {
    topic: 'm',
    partition: 0,
    offset: String(minute),
    key: null,
    value: jsonMessage(name, { host: 'a' }, T0 + minute * MIN, value),
    timestampMs: 0,
  };
}

const valueAt = (minute: number): number => 40 + (minute % 7) + (minute === 150 ? 30 : 0);

describe('Processor anomaly scores', () => {
  it('gives detector metrics the rich score and the others the EWMA score, through the hook', () => {
    const seen: ScoredSample[] = [];
    const core = processor((s) => seen.push(s));
    for (let minute = 0; minute < 200; minute++) {
      core.processBatch(
        [record('cpu', minute, valueAt(minute)), record('mem', minute, valueAt(minute))],
        T0 + minute * MIN,
      );
    }
    const cpu = seen.filter((s) => s.series.startsWith('cpu'));
    const mem = seen.filter((s) => s.series.startsWith('mem'));
    expect(cpu).toHaveLength(200);
    expect(mem).toHaveLength(200);

    // The same detector and baseline, driven directly, give the same numbers: the processor
    // runs exactly this code per sample.
    const state = new BaselineArrays(1);
    const direct = new SeriesDetector(detector);
    const ewma: number[] = [];
    const rich: number[] = [];
    for (let minute = 0; minute < 200; minute++) {
      const tsMs = T0 + minute * MIN;
      const reading = observe(state, 0, valueAt(minute), tsMs, baseline);
      ewma.push(reading.score);
      rich.push(direct.score({ value: valueAt(minute), tsMs, baselineZ: reading.zScore }));
    }
    expect(cpu.map((s) => s.anomalyScore)).toEqual(rich);
    expect(mem.map((s) => s.anomalyScore)).toEqual(ewma);
    const others = cpu.filter((_, i) => i !== 150).map((s) => s.anomalyScore);
    expect(cpu[150]?.anomalyScore).toBeGreaterThan(2 * Math.max(...others));
    expect(cpu[150]).toMatchObject({ timestampMs: T0 + 150 * MIN, value: valueAt(150) });
  });

  it('without a detector config every series keeps the EWMA score; no hook, no calls', () => {
    const seen: ScoredSample[] = [];
    const core = processor((s) => seen.push(s), false);
    for (let minute = 0; minute < 30; minute++) {
      core.processBatch([record('cpu', minute, valueAt(minute))], T0 + minute * MIN);
    }
    const state = new BaselineArrays(1);
    const ewma = Array.from(
      { length: 30 },
      (_, m) => observe(state, 0, valueAt(m), T0 + m * MIN, baseline).score,
    );
    expect(seen.map((s) => s.anomalyScore)).toEqual(ewma);
    // A processor without the hook scores the same batches without error.
    const quiet = processor(undefined, true);
    const result = quiet.processBatch([record('cpu', 0, 1), record('cpu', 1, 2)], T0 + MIN);
    expect(result.stats.samplesScored).toBe(2);
  });
});
