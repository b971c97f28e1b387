import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/ingest/decode.js';
import { encodeJsonSample } from '../../../src/ingest/encodeJson.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';

const NOW = 1_732_700_000_000;

describe('encodeJsonSample', () => {
  it('writes what the JSON decoder reads back to the same sample, staleness markers included', () => {
    const samples = [
      { name: 'cpu_utilization', labels: { host: 'a' }, timestampMs: NOW - 1_000, value: 91.5 },
      { name: 'up', labels: {}, timestampMs: NOW, value: Number.NaN },
    ];
    for (const sample of samples) {
      const decoded = decodeMessage(Buffer.from(encodeJsonSample(sample)), {
        format: 'json',
        nowMs: NOW,
        limits: DEFAULT_DECODE_LIMITS,
      });
      expect(decoded.problems).toEqual([]);
      expect(decoded.samples).toEqual([sample]);
    }
  });
});
