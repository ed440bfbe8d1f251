/** The tasks this worker is running right now, by group, so a cancellation can find them. */
export class RunningTasks {
  readonly #byGroup = new Map<string, Map<number, AbortController>>();

  add(groupId: string, index: number, controller: AbortController): () => void {
    let tasks = this.#byGroup.get(groupId);
    if (tasks === undefined) {
      tasks = new Map();
      this.#byGroup.set(groupId, tasks);
    }
    tasks.set(index, controller);
    return () => {
      const current = this.#byGroup.get(groupId);
      if (current?.get(index) !== controller) return;
      current.delete(index);
      if (current.size === 0) this.#byGroup.delete(groupId);
    };
  }

  /** Aborts the group's tasks here; returns how many were not aborted already. */
  abortGroup(groupId: string, reason: Error): number {
    const tasks = this.#byGroup.get(groupId);
    if (tasks === undefined) return 0;
    let aborted = 0;
    for (const controller of tasks.values()) {
      if (controller.signal.aborted) continue;
      controller.abort(reason);
      aborted++;
    }
    return aborted;
  }

  abortTask(groupId: string, index: number, reason: Error): boolean {
    const controller = this.#byGroup.get(groupId)?.get(index);
    controller?.abort(reason);
    return controller !== undefined;
  }

  abortAll(reason: Error): void {
    for (const tasks of this.#byGroup.values())
      for (const controller of tasks.values()) controller.abort(reason);
  }

  /** Group id -> indexes running here, skipping tasks already aborted. */
  snapshot(): Map<string, number[]> {
    const result = new Map<string, number[]>();
    for (const [groupId, tasks] of this.#byGroup) {
      const live = [...tasks].filter(([, c]) => !c.signal.aborted).map(([index]) => index);
      if (live.length > 0) result.set(groupId, live);
    }
    return result;
  }

  get size(): number {
    let n = 0;
    for (const tasks of this.#byGroup.values()) n += tasks.size;
    return n;
  }
}
