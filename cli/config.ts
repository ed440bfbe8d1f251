/**
 * The one module of the CLI that reads the environment. Everything else gets these values passed in.
 *
 *   REDIS_URL          where Redis is, when `--redis` is not given
 *   TASKFLEET_DEBUG=1  print the stack of unexpected errors (user mistakes never get one)
 *   NO_COLOR           no ANSI colours, even on a terminal (https://no-color.org)
 */
export interface Environment {
  readonly redisUrl: string | undefined;
  readonly debug: boolean;
  readonly noColor: boolean;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const redisUrl = env.REDIS_URL;
  return {
    redisUrl: redisUrl === undefined || redisUrl === '' ? undefined : redisUrl,
    debug: env.TASKFLEET_DEBUG !== undefined && env.TASKFLEET_DEBUG !== '' && env.TASKFLEET_DEBUG !== '0',
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
  };
}
