/** What a task running in a fleet worker process tells the test (over the child process IPC channel). */
export interface FleetEvent {
  readonly kind: string;
  readonly pid: number;
  readonly [field: string]: unknown;
}

export function report(kind: string, fields: Record<string, unknown> = {}): void {
  process.send?.({ type: 'event', event: { kind, pid: process.pid, ...fields } });
}
