import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

/** Where a benchmark ran: written next to its figures. */
export function describeEnvironment(redisVersion: string): string[] {
  const pkg = (name: string): string => {
    try {
      return (
        JSON.parse(
          readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'),
        ) as { version: string }
      ).version;
    } catch {
      return '?';
    }
  };
  let nproc = String(availableParallelism());
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // keep availableParallelism
  }
  return [
    `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `Machine: ${nproc} cores (\`nproc\`), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${cpus()[0]?.model ?? 'unknown CPU'}`,
    `Node ${process.versions.node}, Redis ${redisVersion} (loopback, persistence off)`,
    `Packages: bullmq ${pkg('bullmq')}, ioredis ${pkg('ioredis')}, redis-semaphore ${pkg('redis-semaphore')}`,
  ];
}
