import type { Command } from 'commander';
import type { Environment } from './config.ts';
import { CliContext } from './context.ts';
import type { ExitCode } from './exit-codes.ts';

/** A command's body: it gets its context and its arguments, and returns the exit code (default 0). */
export type CommandBody<A extends unknown[]> = (ctx: CliContext, ...args: A) => Promise<ExitCode | undefined>;

/** Turns a body into a commander action: builds the context, runs the body, closes what it opened. */
export type Act = <A extends unknown[]>(body: CommandBody<A>) => (...args: unknown[]) => Promise<void>;

export function actions(env: Environment): Act {
  return <A extends unknown[]>(body: CommandBody<A>) =>
    async (...args: unknown[]): Promise<void> => {
      // commander passes the arguments, the options object, then the command itself.
      const command = args[args.length - 1] as Command;
      const ctx = new CliContext(command, env);
      try {
        process.exitCode = (await body(ctx, ...(args.slice(0, -1) as A))) ?? 0;
      } finally {
        await ctx.close();
      }
    };
}
