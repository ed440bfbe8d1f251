#!/usr/bin/env node
/**
 * `taskfleet`: run workers, submit, watch and cancel groups, look at semaphores and workers, open the
 * dashboard. Every command takes --redis/--queue/--prefix/--json. Errors are one line on stderr and a
 * documented exit code (cli/exit-codes.ts); user mistakes never print a stack.
 */
import { Command, CommanderError } from 'commander';
import pkg from 'taskfleet/package.json' with { type: 'json' };
import { actions } from './command-action.ts';
import { cancelCommand } from './commands/cancel.ts';
import { dashboardCommand } from './commands/dashboard.ts';
import { demoCommand } from './commands/demo.ts';
import { groupsCommand } from './commands/groups.ts';
import { semCommand } from './commands/sem.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import { watchCommand } from './commands/watch.ts';
import { workerCommand } from './commands/worker.ts';
import { workersCommand } from './commands/workers.ts';
import { readEnvironment } from './config.ts';
import { EXIT_CODES_HELP, ExitCode, exitCodeFor, isExpected } from './exit-codes.ts';

const env = readEnvironment();
const program = new Command('taskfleet')
  .description("asyncio's TaskGroup and Semaphore for a fleet of Node.js processes, on Redis and BullMQ")
  .version(pkg.version)
  .option(
    '--redis <url>',
    'Redis URL, or redis+cluster://host:port,... (default: $REDIS_URL, else redis://127.0.0.1:6379)',
  )
  .option('--queue <name>', 'queue name (default: tasks)')
  .option('--prefix <prefix>', 'Redis key prefix (default: taskfleet)')
  .option('--json', 'machine-readable output: JSON (NDJSON for streams)')
  .addHelpText('after', EXIT_CODES_HELP)
  // Subcommands made with .command() inherit these two: commander throws instead of exiting, and its
  // messages come out as one line like ours.
  .exitOverride()
  .configureOutput({
    outputError: (message, write) => write(`taskfleet: ${message.replace(/^error: /, '')}`),
  })
  .showSuggestionAfterError();

const act = actions(env);
for (const register of [
  workerCommand,
  submitCommand,
  statusCommand,
  watchCommand,
  cancelCommand,
  groupsCommand,
  semCommand,
  workersCommand,
  dashboardCommand,
  demoCommand,
]) {
  register(program, act);
}

let code: number = ExitCode.Ok;
try {
  await program.parseAsync(process.argv);
  code = typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
} catch (error) {
  code = exitCodeFor(error);
  // commander has already printed its own errors (and help, and the version).
  if (!(error instanceof CommanderError)) {
    report(error);
  }
}
// Everything the command opened is closed by now; exit rather than wait on a stray timer or socket.
process.exit(code);

function report(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (isExpected(error)) {
    process.stderr.write(`taskfleet: ${message}\n`);
    return;
  }
  const stack = error instanceof Error && env.debug ? `\n${error.stack}` : '';
  const hint = env.debug ? '' : ' (TASKFLEET_DEBUG=1 shows the stack)';
  process.stderr.write(`taskfleet: unexpected error: ${message}${hint}${stack}\n`);
}
