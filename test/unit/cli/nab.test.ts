import { readFile, writeFile, mkdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nab, nabDetectorConfig, type NabReport } from '../../../src/cli/nab.js';
import { DEFAULT_DETECTOR_CONFIG } from '../../../src/detect/config.js';
import { HealcastError } from '../../../src/errors.js';
import { tempDirs } from '../../helpers/tempDirs.js';

// Two NAB files sliced from the shared data (source line in test/fixtures/nab/README.md).
const FIXTURE = path.resolve('test/fixtures/nab');
const FILES = [
  'artificialNoAnomaly/art_daily_small_noise.csv',
  'realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv',
];

const tempDir = tempDirs('healcast-nab-');

function output(): {
  stdout: string[];
  stderr: string[];
  io: { stdout: (s: string) => void; stderr: (s: string) => void };
} {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, io: { stdout: (s) => stdout.push(s), stderr: (s) => stderr.push(s) } };
}

describe('healcast nab', () => {
  it('writes NAB results for every file (same rows, same timestamps) and scores the three profiles', async () => {
    const out = await tempDir();
    const { stdout, io } = output();
    expect(await nab({ data: FIXTURE, out, model: 'models' }, io)).toBe(0);

    for (const name of FILES) {
      const [category, file] = name.split('/') as [string, string];
      const input = (await readFile(path.join(FIXTURE, name), 'utf8')).trim().split('\n');
      const result = (
        await readFile(path.join(out, 'healcast', category, `healcast_${file}`), 'utf8')
      )
        .trim()
        .split('\n');
      expect(result[0]).toBe('timestamp,value,anomaly_score');
      expect(result).toHaveLength(input.length);
      for (let i = 1; i < input.length; i++) {
        const [timestamp, value, score] = (result[i] as string).split(',');
        expect(`${timestamp},${value}`).toBe(input[i]);
        expect(Number(score)).toBeGreaterThanOrEqual(0);
        expect(Number(score)).toBeLessThanOrEqual(1);
      }
    }
    const report = JSON.parse(await readFile(path.join(out, 'scores.json'), 'utf8')) as NabReport;
    expect(report.files).toBe(2);
    expect(report.model.version).not.toBeNull();
    expect(Object.keys(report.profiles).sort()).toEqual([
      'reward_low_FN',
      'reward_low_FP',
      'standard',
    ]);
    // The labelled CPU anomaly is found, for a score above the null detector's 0.
    expect(report.profiles.standard.tp).toBe(1);
    // Per file, at the profile's threshold: the counts add up to the totals.
    const perFile = report.profiles.standard.perFile;
    expect(perFile.map((f) => f.name).sort()).toEqual([...FILES].sort());
    expect(perFile.reduce((sum, f) => sum + f.fp, 0)).toBe(report.profiles.standard.fp);
    expect(perFile.reduce((sum, f) => sum + f.raw, 0)).toBeCloseTo(report.profiles.standard.raw, 9);
    expect(report.profiles.standard.normalised).toBeGreaterThan(0);
    expect(stdout.join('')).toMatch(/standard\s+\d+\.\d/);
  }, 60_000);

  it('names the file and line of a bad row', async () => {
    const data = await tempDir();
    await mkdir(path.join(data, 'realAWSCloudwatch'), { recursive: true });
    await copyFile(
      path.join(FIXTURE, 'combined_windows.json'),
      path.join(data, 'combined_windows.json'),
    );
    const text = await readFile(path.join(FIXTURE, FILES[1] as string), 'utf8');
    const lines = text.split('\n');
    lines[5] = '2014-04-10 00:27:00,not-a-number';
    const bad = path.join(data, FILES[1] as string);
    await writeFile(bad, lines.join('\n'));
    const { io } = output();
    const run = nab({ data, out: await tempDir(), forecast: false }, io);
    await expect(run).rejects.toThrow(HealcastError);
    await expect(run).rejects.toThrow(`${bad}:6: value is not a finite number`);
  });

  it('rejects a missing --out and files the labels do not know', async () => {
    const { io } = output();
    await expect(nab({ data: FIXTURE }, io)).rejects.toThrow('--out <dir> is required');
    const data = await tempDir();
    await mkdir(path.join(data, 'x'), { recursive: true });
    await copyFile(path.join(FIXTURE, FILES[0] as string), path.join(data, 'x', 'a.csv'));
    await writeFile(path.join(data, 'combined_windows.json'), '{}');
    await expect(nab({ data, out: await tempDir(), forecast: false }, io)).rejects.toThrow(
      'has no entry for x/a.csv',
    );
  });

  it('finds the labels of a NAB repository checkout (NAB/data with NAB/labels beside it)', async () => {
    const root = await tempDir();
    const data = path.join(root, 'data');
    await mkdir(path.join(data, 'x'), { recursive: true });
    await mkdir(path.join(root, 'labels'));
    await copyFile(path.join(FIXTURE, FILES[0] as string), path.join(data, 'x', 'a.csv'));
    await writeFile(path.join(root, 'labels', 'combined_windows.json'), '{"x/b.csv": []}');
    const { io } = output();
    // The error names the file it read: the repository's labels, not DIR/combined_windows.json.
    await expect(nab({ data, out: await tempDir(), forecast: false }, io)).rejects.toThrow(
      `${path.join(root, 'labels', 'combined_windows.json')} has no entry for x/a.csv`,
    );
  });

  describe('--detector <file>', () => {
    it('defaults to the shipped settings, for the one metric the replay sends', async () => {
      expect(await nabDetectorConfig(undefined)).toEqual({
        ...DEFAULT_DETECTOR_CONFIG,
        metrics: ['nab_value'],
      });
    });

    it('reads YAML or JSON fields over the defaults (durations as text, metrics replaced)', async () => {
      const dir = await tempDir();
      const yaml = path.join(dir, 'detector.yaml');
      await writeFile(yaml, 'noveltyWeight: 0.5\nseasonMs: 1h\nmetrics: [other]\n');
      const json = path.join(dir, 'detector.json');
      await writeFile(json, JSON.stringify({ suppressRatio: 0.25 }));
      expect(await nabDetectorConfig(yaml)).toEqual({
        ...DEFAULT_DETECTOR_CONFIG,
        noveltyWeight: 0.5,
        seasonMs: 3_600_000,
        metrics: ['nab_value'],
      });
      expect(await nabDetectorConfig(json)).toEqual({
        ...DEFAULT_DETECTOR_CONFIG,
        suppressRatio: 0.25,
        metrics: ['nab_value'],
      });
    });

    it('names the file and every bad field; a missing file is named too', async () => {
      const dir = await tempDir();
      const bad = path.join(dir, 'bad.yaml');
      await writeFile(bad, 'suppressRatio: 2\nnoveltyWieght: 1\n');
      const error = await nabDetectorConfig(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HealcastError);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', retriable: false });
      const message = (error as Error).message;
      expect(message).toContain(`--detector ${bad}`);
      expect(message).toContain('suppressRatio');
      expect(message).toContain('noveltyWieght');
      const list = path.join(dir, 'list.yaml');
      await writeFile(list, '- 1\n');
      await expect(nabDetectorConfig(list)).rejects.toThrow(list);
      const missing = path.join(dir, 'missing.yaml');
      await expect(nabDetectorConfig(missing)).rejects.toThrow(missing);
    });

    it('scores with the settings of the file and reports them', async () => {
      const dir = await tempDir();
      const file = path.join(dir, 'detector.yaml');
      // No novelty term, no damping of repeats: other scores than the defaults'.
      await writeFile(file, 'noveltyWeight: 0\nsuppressRatio: 1\n');
      const { io } = output();
      const outDefault = await tempDir();
      const outFile = await tempDir();
      await nab({ data: FIXTURE, out: outDefault, forecast: false }, io);
      await nab({ data: FIXTURE, out: outFile, forecast: false, detector: file }, io);
      const read = async (out: string): Promise<NabReport> =>
        JSON.parse(await readFile(path.join(out, 'scores.json'), 'utf8')) as NabReport;
      const [byDefault, byFile] = [await read(outDefault), await read(outFile)];
      expect(byFile.detectorConfig).toMatchObject({ noveltyWeight: 0, suppressRatio: 1 });
      expect(byDefault.detectorConfig.noveltyWeight).toBe(DEFAULT_DETECTOR_CONFIG.noveltyWeight);
      const results = (out: string): Promise<string> =>
        readFile(
          path.join(
            out,
            'healcast',
            'realAWSCloudwatch',
            'healcast_rds_cpu_utilization_e47b3b.csv',
          ),
          'utf8',
        );
      expect(await results(outFile)).not.toBe(await results(outDefault));
    });
  });
});
