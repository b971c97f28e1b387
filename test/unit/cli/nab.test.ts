import { mkdtemp, readFile, rm, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nab, type NabReport } from '../../../src/cli/nab.js';
import { HealcastError } from '../../../src/errors.js';

// Two NAB files sliced from the shared data (source line in test/fixtures/nab/README.md).
const FIXTURE = path.resolve('test/fixtures/nab');
const FILES = [
  'artificialNoAnomaly/art_daily_small_noise.csv',
  'realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv',
];

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'healcast-nab-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

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
});
