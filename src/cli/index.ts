import { Command, CommanderError, Option } from 'commander';
import { HealcastError } from '../errors.js';
import { VERSION } from '../main.js';
import { backtest, type BacktestFlags } from './backtest.js';
import {
  approvalsCommand,
  decideCommand,
  executorCommand,
  killSwitchCommand,
  type ExecutorFlags,
} from './executor.js';
import { forecast, type ForecastFlags } from './forecast.js';
import { nab, type NabFlags } from './nab.js';
import { policyValidate } from './policyValidate.js';
import { run, type RunFlags } from './run.js';
import { train, type TrainFlags } from './train.js';

/** `--log-level`; `silent` only where the command's output is not its logs. */
function logLevelOption(allowSilent: boolean): Option {
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  return new Option('--log-level <level>', 'log level').choices(
    allowSilent ? [...levels, 'silent'] : levels,
  );
}

/** `--backend`: the TensorFlow.js backend of the commands that load a model. */
function backendOption(): Option {
  return new Option('--backend <name>', 'TensorFlow.js backend').choices([
    'tensorflow',
    'wasm',
    'cpu',
  ]);
}

/** Where every command writes its output and its errors. */
const io = {
  stdout: (s: string) => process.stdout.write(s),
  stderr: (s: string) => process.stderr.write(s),
};

/** Builds the `healcast` command tree (commander: parsing, help and errors for free). */
export function buildProgram(): Command {
  const program = new Command('healcast')
    .description('Self-healing infrastructure worker: metrics in, pre-emptive healing actions out.')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('run')
    .description(
      'Run the worker. Without KAFKA_BROKERS/--brokers it runs the embedded demo (no servers needed).',
    )
    .option('-c, --config <file>', 'YAML/JSON config file (lowest precedence after defaults)')
    .option('-p, --policies <file>', 'healing-policy file (YAML or JSON)')
    .option('--brokers <list>', 'Kafka bootstrap brokers host:port,... (env KAFKA_BROKERS)')
    .option('--redis <url>', 'Redis URL for the actions stream (env REDIS_URL)')
    .option('--topics <list>', 'metric topics (default metrics)')
    .option('--group <id>', 'consumer group id (default healcast)')
    .option('--dead-letter-topic <topic>', 'dead-letter topic (default metrics.dead-letter)')
    .option(
      '--deployments-topic <topic>',
      'deployment events (service, version, time) that open watch windows for automatic rollbacks (env HEALCAST_DEPLOYMENTS_TOPIC)',
    )
    .addOption(
      new Option('--format <format>', 'message format').choices(['auto', 'json', 'influx']),
    )
    .option('--from-beginning', 'a new consumer group starts at the earliest message')
    .option('--host <host>', 'HTTP listen address (default 127.0.0.1)')
    .option('--port <port>', 'HTTP port for /metrics, /healthz, /readyz (default 9464)')
    .addOption(logLevelOption(true))
    .option('--max-series <n>', 'most series kept in memory (default 1000000)')
    .option('--embedded', 'force the embedded demo even when KAFKA_BROKERS is set')
    .option('--trace <csv>', 'embedded: timestamp,value CSV to replay instead of the shipped trace')
    .option('--speed <x>', 'embedded: replay speed, trace time per wall time (default 600)')
    .option('--loop', 'embedded: replay the trace again and again')
    .option('--exit-when-done', 'embedded: exit once the trace has been replayed')
    .action(async (flags: RunFlags) => {
      process.exitCode = await run(flags);
    });

  const policy = program.command('policy').description('Work with healing-policy files.');
  policy
    .command('validate <file>')
    .description(
      'Validate a policy file and print each policy in plain words (exit 1 when invalid).',
    )
    .option('--json', 'print the normalised policies as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      process.exitCode = await policyValidate(file, io, { json: options.json === true });
    });

  program
    .command('train')
    .description(
      'Train the forecasting model on traces (default ../shared/data/traces) or the metrics topic, ' +
        'evaluate it against naive, seasonal naive and Holt-Winters, and promote it when it beats naive.',
    )
    .option('--data <paths...>', 'CSV/NDJSON trace files or folders (searched recursively)')
    .option('--kafka-topic <topic>', 'train on the metric topic instead of files')
    .option('--brokers <list>', 'Kafka brokers host:port,... (env KAFKA_BROKERS)')
    .option(
      '--since <when>',
      'with --kafka-topic: how far back, a duration or a timestamp (default 14d)',
    )
    .option('--metrics <names>', 'with --kafka-topic: only these metric names (comma-separated)')
    .option('--out <dir>', 'model registry root (default models)')
    .option('--reports <dir>', 'report folder (default training)')
    .option('--epochs <n>', 'most epochs (default 30; early stopping may end sooner)')
    .option('--batch-size <n>', 'windows per gradient step (default 1024)')
    .option('--learning-rate <x>', 'Adam learning rate (default 0.003)')
    .option('--seed <n>', 'seed of weights, shuffling and subsampling (default 42)')
    .option('--hidden <units>', 'hidden layer sizes (default 128,64)')
    .option('--window <steps>', 'input window in steps (default 64)')
    .option('--horizon <steps>', 'forecast horizon in steps (default 16)')
    .option(
      '--validation <ratio>',
      'time-ordered tail of every series kept for evaluation (default 0.2)',
    )
    .option(
      '--early-stopping <ratio>',
      'tail of every training part that picks the epoch (default 0.1; 0 = none)',
    )
    .option('--patience <n>', 'epochs without improvement before stopping (default 5)')
    .option('--stride <steps>', 'steps between training windows (default 1)')
    .option(
      '--max-windows <n>',
      'most training windows, balanced over series, seeded (default 80000)',
    )
    .addOption(
      new Option(
        '--fill <policy>',
        'fill of short gaps (default previous; NASA file: zero)',
      ).choices(['zero', 'previous']),
    )
    .option(
      '--max-gap <steps>',
      'longest gap filled; longer gaps split a series (default 3; NASA file: 60)',
    )
    .option(
      '--step <duration>',
      'step of files without a time column (default: from the file name, e.g. _300s)',
    )
    .option(
      '--start <timestamp>',
      'time of the first row of files without a time column (default epoch 0)',
    )
    .option(
      '--exclude-tail <ratio>',
      'drop the last ratio of every series first (tuning without touching the validation part)',
    )
    .option(
      '--time-features',
      'add time-of-day / day-of-week inputs (off by default: traces without a time column have no real time of day)',
    )
    .addOption(backendOption())
    .option('--force', 'promote even when the model does not beat naive')
    .action(async (flags: TrainFlags) => {
      await train(flags, io);
      process.exitCode = 0;
    });

  program
    .command('forecast')
    .description(
      'Replay a trace through a model and write its quantile forecasts for every step as JSON (for plots).',
    )
    .requiredOption('--trace <file>', 'CSV or NDJSON trace')
    .option(
      '--model <dir>',
      'model registry root (its current model) or a model directory (default models)',
    )
    .option('--column <name>', 'the series to replay when the trace has several')
    .option('--out <file>', 'output file (default stdout)')
    .addOption(new Option('--fill <policy>', 'fill of short gaps').choices(['zero', 'previous']))
    .option('--step <duration>', 'step of a file without a time column')
    .option('--start <timestamp>', 'time of the first row of a file without a time column')
    .addOption(backendOption())
    .action(async (flags: ForecastFlags) => {
      process.exitCode = await forecast(flags, io);
    });

  program
    .command('backtest')
    .description(
      'Replay a trace against a simulated target: healcast predictive and reactive-only, the Kubernetes HPA and a Holt-Winters scaler; writes report.json, report.md, report.html.',
    )
    .requiredOption('--trace <file>', 'CSV trace (e.g. ../shared/data/traces/...)')
    .option('--policy <file>', 'healing policies (default src/demo/backtest/<kind>.policy.yaml)')
    .addOption(new Option('--kind <kind>', 'what the trace measures').choices(['requests', 'cpu']))
    .option('--column <name>', 'the series to replay when the trace has several')
    .option('--value-scale <x>', 'multiply values first (default 100 for Google 0–1 CPU)')
    .option(
      '--settings <file>',
      'YAML/JSON simulated target over the kind defaults (capacityPerReplica, startupDelay, minReplicas, maxReplicas, initialReplicas, targetUtilizationPercent, guardrails, ...)',
    )
    .option('--out <dir>', 'output directory (default backtest-out)')
    .option('--model <dir>', 'model registry root or model directory (default models)')
    .addOption(backendOption())
    .option('--no-progress', 'no progress bar')
    .action(async (flags: BacktestFlags) => {
      process.exitCode = await backtest(flags, io);
    });

  program
    .command('nab')
    .description(
      "Run the worker's streaming anomaly detector over a NAB-layout folder, write NAB results files and print the NAB scores of the three profiles.",
    )
    .option(
      '--data <dir>',
      'NAB data folder DIR/<category>/<file>.csv (default ../shared/data/nab)',
    )
    .requiredOption('--out <dir>', 'results folder (OUT/healcast/..., OUT/scores.json)')
    .option(
      '--labels <file>',
      'anomaly windows (default DIR/combined_windows.json, else DIR/../labels/combined_windows.json)',
    )
    .option('--model <dir>', 'model registry root for the forecast band (default models)')
    .option('--no-forecast', 'score without the forecasting model')
    .option('--detector <file>', 'detector settings (YAML/JSON of DetectorConfig fields)')
    .addOption(backendOption())
    .action(async (flags: NabFlags) => {
      process.exitCode = await nab(flags, io);
    });

  const executorOptions = (command: Command): Command =>
    command
      .option('-c, --config <file>', 'executor config file (YAML/JSON); see README "The executor"')
      .option('--redis <url>', 'Redis URL (env REDIS_URL)');
  executorOptions(
    program
      .command('executor')
      .description(
        'Run the executor: carry out the actions on the Redis stream against allow-listed targets (PM2, Kubernetes, webhook, command), exactly once in effect.',
      ),
  )
    .option(
      '--name <name>',
      'consumer name, stable per instance (env HEALCAST_EXECUTOR_NAME; default the host name)',
    )
    .option('--dry-run', 'record what would be done, change nothing (env HEALCAST_DRY_RUN=1)')
    .option('--host <host>', 'HTTP listen address (default 0.0.0.0)')
    .option('--port <port>', 'HTTP port for /metrics, /healthz, /readyz (default 9465)')
    .addOption(logLevelOption(false))
    .action(async (flags: ExecutorFlags) => {
      process.exitCode = await executorCommand(flags);
    });

  for (const [name, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    executorOptions(
      program
        .command(`${name} <action-id>`)
        .description(
          name === 'approve'
            ? 'Approve an action waiting for a human (a rollback, or one deferred by an open breaker): the executor carries it out.'
            : 'Reject an action waiting for a human: the executor records it as skipped (rejected).',
        ),
    )
      .option('--by <who>', 'who decides (default user@host)')
      .option('--reason <text>', 'why, for the audit trail')
      .action(async (actionId: string, flags: ExecutorFlags & { by?: string; reason?: string }) => {
        process.exitCode = await decideCommand(actionId, decision, flags, io);
      });
  }

  executorOptions(program.command('approvals').description('List the actions waiting for a human.'))
    .option('--json', 'print them as JSON')
    .action(async (flags: ExecutorFlags & { json?: boolean }) => {
      process.exitCode = await approvalsCommand(flags, io);
    });

  executorOptions(
    program
      .command('killswitch <state>')
      .description(
        "Turn the executors' kill switch on or off, or show it (on|off|status). While on, no action is executed.",
      ),
  )
    .option('--by <who>', 'who flips it (default user@host)')
    .option('--reason <text>', 'why, for the audit trail')
    .action(async (state: string, flags: ExecutorFlags & { by?: string; reason?: string }) => {
      process.exitCode = await killSwitchCommand(state, flags, io);
    });
  return program;
}

/** Entry point used by bin/healcast.js; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof HealcastError) {
      process.stderr.write(`healcast: ${error.message}\n`);
      return error.code === 'CONFIG_INVALID' || error.code === 'POLICY_INVALID' ? 2 : 1;
    }
    throw error;
  }
}
