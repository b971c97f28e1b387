import { Command, CommanderError, Option } from 'commander';
import { HealcastError } from '../errors.js';
import { VERSION } from '../main.js';
import { policyValidate } from './policyValidate.js';
import { run, type RunFlags } from './run.js';

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
    .addOption(
      new Option('--format <format>', 'message format').choices(['auto', 'json', 'influx']),
    )
    .option('--from-beginning', 'a new consumer group starts at the earliest message')
    .option('--host <host>', 'HTTP listen address (default 127.0.0.1)')
    .option('--port <port>', 'HTTP port for /metrics, /healthz, /readyz (default 9464)')
    .addOption(
      new Option('--log-level <level>', 'log level').choices([
        'trace',
        'debug',
        'info',
        'warn',
        'error',
        'fatal',
        'silent',
      ]),
    )
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
      process.exitCode = await policyValidate(
        file,
        { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) },
        { json: options.json === true },
      );
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
