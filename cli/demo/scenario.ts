import type { Producer } from '../../producer/producer.ts';
import { GroupFailedError } from '../../shared/errors.ts';
import type { Output } from '../output.ts';

/** What the demo shows, for --json. */
export interface DemoReport {
  readonly succeeded: { readonly id: string; readonly results: readonly string[] };
  readonly failed: {
    readonly id: string;
    readonly failure: string;
    readonly cancelled: readonly number[];
  };
}

/**
 * The demo's story, told by a producer to a fleet running cli/demo/tasks.ts: a group that succeeds
 * (results in creation order), then a fail-fast group where one task fails and its running and queued
 * siblings are cancelled on every worker.
 */
export async function runDemoScenario(producer: Producer, out: Output): Promise<DemoReport> {
  out.line('1. A group that succeeds: results come back in the order the tasks were created.');
  const crawl = producer.taskGroup({ name: 'crawl' });
  for (const [i, ms] of [400, 100, 300, 200].entries())
    crawl.createTask('fetchPage', { url: `https://example.com/${i}`, ms });
  const pages = (await crawl.wait()) as { url: string }[];
  const results = pages.map((p) => p.url);
  out.line(`   results: ${results.join(', ')}\n`);

  out.line('2. A fail-fast group: one task fails, and its running and queued siblings are cancelled.');
  const report = producer.taskGroup({ name: 'report' });
  for (let i = 0; i < 4; i++)
    report.createTask('fetchPage', { url: `https://slow.example.com/${i}`, ms: 5000 });
  report.createTask('flakyUpstream', { ms: 300 });
  for (let i = 4; i < 8; i++)
    report.createTask('fetchPage', { url: `https://slow.example.com/${i}`, ms: 5000 });
  try {
    await report.wait();
    throw new Error('the report group was expected to fail');
  } catch (error) {
    if (!(error instanceof GroupFailedError)) throw error;
    const outcomes = await producer.group(report.id).settled();
    out.line(`\n   ${error.name}: ${error.message}`);
    for (const failure of error.errors)
      out.line(
        `   - the real failure: task ${failure.task.index} (${failure.task.taskName}): ${failure.message}`,
      );
    const cancelled = outcomes.flatMap((o, i) => (o.status === 'cancelled' ? [i] : []));
    out.line(
      `   - cancelled because of it: tasks ${cancelled.join(', ')} (running ones saw ctx.signal abort; queued ones never started)`,
    );
    return {
      succeeded: { id: crawl.id, results },
      failed: { id: report.id, failure: error.errors[0]?.message ?? '', cancelled },
    };
  }
}
