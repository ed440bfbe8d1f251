import { CommanderError } from 'commander';
import { ErrorCode } from '../shared/errors.ts';

/** `taskfleet`'s exit codes, as README documents them. Scripts may rely on them. */
export const ExitCode = {
  Ok: 0,
  /** Something unexpected: a bug, or Redis failing in the middle of a command. */
  Internal: 1,
  /** Unknown command or option, a bad option value, a missing argument. */
  Usage: 2,
  /** No such group or semaphore. */
  NotFound: 3,
  /** Redis cannot be reached, or refused the credentials or the TLS handshake. */
  RedisUnreachable: 4,
  /** Input taskfleet cannot use: a task file or tasks module that is missing or invalid, a group id in use. */
  BadInput: 5,
  /** `watch` / `submit --wait`: the group failed. */
  GroupFailed: 6,
  /** `watch` / `submit --wait`: the group was cancelled. */
  GroupCancelled: 7,
  /** Stopped by Ctrl-C (SIGINT) while watching or submitting. */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table `taskfleet --help` ends with. */
export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    unexpected error (TASKFLEET_DEBUG=1 prints its stack)
  2    usage: unknown command or option, bad option value
  3    no such group or semaphore
  4    Redis unreachable, or it refused the credentials or the TLS handshake
  5    bad input: task file or tasks module missing or invalid, group id in use
  6    watch / submit --wait: the group failed
  7    watch / submit --wait: the group was cancelled
  130  interrupted (Ctrl-C)`;

const BY_ERROR_CODE: Readonly<Record<string, ExitCode>> = {
  [ErrorCode.GroupNotFound]: ExitCode.NotFound,
  [ErrorCode.SemaphoreNotFound]: ExitCode.NotFound,
  [ErrorCode.RedisUnreachable]: ExitCode.RedisUnreachable,
  [ErrorCode.RedisAuthFailed]: ExitCode.RedisUnreachable,
  [ErrorCode.RedisTlsFailed]: ExitCode.RedisUnreachable,
  [ErrorCode.InputInvalid]: ExitCode.BadInput,
  [ErrorCode.TaskDataInvalid]: ExitCode.BadInput,
  [ErrorCode.DataTooLarge]: ExitCode.BadInput,
  [ErrorCode.UnknownTask]: ExitCode.BadInput,
  [ErrorCode.DuplicateGroup]: ExitCode.BadInput,
  [ErrorCode.InvalidArgument]: ExitCode.Usage,
  [ErrorCode.ArgumentRange]: ExitCode.Usage,
  [ErrorCode.GroupFailed]: ExitCode.GroupFailed,
  [ErrorCode.GroupCancelled]: ExitCode.GroupCancelled,
};

/** How a command that threw ends: an expected error's code decides; anything else is internal. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && BY_ERROR_CODE[code] !== undefined) return BY_ERROR_CODE[code];
  if (isConnectionLoss(error)) return ExitCode.RedisUnreachable;
  return ExitCode.Internal;
}

/** Is the error one of ours (or commander's), whose message is meant for the user as it is? */
export function isExpected(error: unknown): boolean {
  return exitCodeFor(error) !== ExitCode.Internal;
}

/** ioredis gave up on a command because the connection went away mid-command. */
function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || error.message === 'Connection is closed.';
}
