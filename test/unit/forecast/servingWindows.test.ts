import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FEATURE_SPEC,
  inputLength,
  windowScale,
  writeInputs,
} from '../../../src/forecast/features.js';
import { SeriesHistory } from '../../../src/forecast/history.js';
import { buildWindows } from '../../../src/training/dataset.js';
import type { Series } from '../../../src/training/traces.js';

const STEP_MS = 60_000;
const START_MS = 1_700_000_000_000;

/**
 * Training and serving must give identical windows. Training slices a regular series
 * (`buildWindows`); serving pushes samples one by one into the worker's own ring buffers
 * (`SeriesHistory`, including its forward-fill of a missed scrape). Both must hand the model
 * the same numbers.
 */
describe('training and serving windows', () => {
  it('are identical, sample by sample, through the production ring buffer', () => {
    const spec = { ...DEFAULT_FEATURE_SPEC, timeFeatures: true };
    const values = Array.from(
      { length: 300 },
      (_, t) => 100 + 20 * Math.sin(t / 9) + ((t * 7919) % 13),
    );
    const series = { name: 'x', stepMs: STEP_MS, startMs: START_MS, values } as unknown as Series;
    const history = new SeriesHistory(4, spec.windowSteps);
    const slot = 2;
    const nIn = inputLength(spec);
    const served = new Float32Array(nIn);
    let compared = 0;
    values.forEach((value, t) => {
      history.push(slot, value, START_MS + t * STEP_MS);
      if (!history.isFull(slot)) return;
      const read = history.reader(slot);
      // The forecasting engine copies the window out of the ring: the same values, in order.
      const copied = new Float64Array(spec.windowSteps);
      history.copyWindow(slot, copied);
      expect(Array.from(copied)).toEqual(
        Array.from({ length: spec.windowSteps }, (_, i) => read(i)),
      );
      writeInputs(
        spec,
        read,
        history.lastTsMs[slot] as number,
        history.stepMs[slot] as number,
        windowScale(spec, read),
        served,
        0,
      );
      const trained = buildWindows([series], [{ series: 0, end: t }], spec);
      expect(served).toEqual(trained.inputs);
      compared++;
    });
    expect(compared).toBe(values.length - spec.windowSteps + 1);
  });

  it('forward-fills a missed scrape, as training fills short gaps with the previous value', () => {
    const spec = { ...DEFAULT_FEATURE_SPEC, timeFeatures: false };
    const history = new SeriesHistory(1, spec.windowSteps);
    const values = Array.from({ length: 80 }, (_, t) => t);
    for (const [t, v] of values.entries()) {
      if (t === 70) continue; // the sample of minute 70 never arrived
      history.push(0, v, START_MS + t * STEP_MS);
    }
    const filled = values.map((v, t) => (t === 70 ? 69 : v));
    const series = {
      name: 'x',
      stepMs: STEP_MS,
      startMs: START_MS,
      values: filled,
    } as unknown as Series;
    const trained = buildWindows([series], [{ series: 0, end: 79 }], spec);
    const served = new Float32Array(inputLength(spec));
    const read = history.reader(0);
    writeInputs(
      spec,
      read,
      history.lastTsMs[0] as number,
      STEP_MS,
      windowScale(spec, read),
      served,
      0,
    );
    expect(served).toEqual(trained.inputs);
  });
});
