import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backtest } from '../../../src/cli/backtest.js';
import { HealcastError } from '../../../src/errors.js';
import { tempDirs } from '../../helpers/tempDirs.js';

const FIXTURE = 'test/fixtures/nasa_http_1995-07-13_flash_crowd.csv';

const tempDir = tempDirs('healcast-backtest-');

const quiet = { stdout: () => undefined, stderr: () => undefined };

async function settingsFile(text: string): Promise<string> {
  const file = path.join(await tempDir(), 'settings.yaml');
  await writeFile(file, text);
  return file;
}

async function failure(settings: string): Promise<HealcastError> {
  const out = await tempDir();
  const error = await backtest(
    { trace: FIXTURE, settings: await settingsFile(settings), out, progress: false },
    quiet,
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HealcastError);
  return error as HealcastError;
}

describe('healcast backtest --settings', () => {
  it('replays with the service described in the file, over the kind defaults', async () => {
    const out = await tempDir();
    const file = await settingsFile('capacityPerReplica: 40\nstartupDelay: 1m\nmaxReplicas: 30\n');
    const code = await backtest({ trace: FIXTURE, settings: file, out, progress: false }, quiet, [
      'backtest',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as {
      settings: Record<string, unknown>;
    };
    expect(report.settings).toMatchObject({
      kind: 'requests',
      capacityPerReplica: 40,
      startupDelay: 60_000,
      maxReplicas: 30,
      // Untouched fields keep the requests defaults.
      minReplicas: 1,
      targetUtilizationPercent: 70,
    });
    expect(await readFile(path.join(out, 'report.md'), 'utf8')).toContain(
      'requests settings: 40 per replica, start-up 60 s',
    );
  }, 60_000);

  it('accepts the example settings file as it ships', async () => {
    const out = await tempDir();
    const example = 'src/demo/backtest/service.example.yaml';
    const code = await backtest(
      { trace: FIXTURE, settings: example, out, progress: false },
      quiet,
      ['backtest'],
    );
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as {
      settings: Record<string, unknown>;
    };
    expect(report.settings).toMatchObject({ capacityPerReplica: 50, startupDelay: 90_000 });
  }, 60_000);

  it('names every bad field and an unknown key', async () => {
    const error = await failure(
      'startupDelay: soon\ncapacity: 3\nminReplicas: 5\nmaxReplicas: 2\n',
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('invalid simulation settings');
    expect(error.message).toMatch(/startupDelay/);
    expect(error.message).toContain('capacity: unknown key (got 3)');
  });

  it('refuses bounds that do not hold together', async () => {
    const error = await failure('minReplicas: 5\nmaxReplicas: 2\n');
    expect(error.message).toMatch(/minReplicas.*is above maxReplicas \(2\)/);
    expect(error.message).toMatch(/initialReplicas.*within \[minReplicas, maxReplicas\]/);
  });

  it('refuses a kind other than the trace’s', async () => {
    const error = await failure('kind: cpu\n');
    expect(error.message).toContain('differs from the trace');
  });
});
