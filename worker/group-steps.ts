import { KeyedBatcher } from '../shared/batcher.ts';
import type {
  FinishRequest,
  FinishResult,
  GroupScripts,
  StartDecision,
  StartRequest,
} from '../shared/group-protocol/group-scripts.ts';

type Step = { readonly start: StartRequest } | { readonly finish: FinishRequest };
type StepReply = StartDecision | FinishResult;

/** The group incarnation a task's job belongs to (see taskJobId). */
export interface GroupOfTask {
  readonly groupId: string;
  readonly epoch: string;
}

/**
 * A worker's starts and finishes of one group's tasks: whatever it asks for at the same moment (or while
 * the previous call is on its way) goes to Redis as one finish-and-start call. At full speed one slot
 * finishes a task as another starts the next, so sharing the call saves about a fifth of the script
 * calls (bench SLOWLOG: 0.20 → 0.16 per task); finishing first means a failure stops starts beside it.
 */
export class GroupSteps {
  readonly #batcher: KeyedBatcher<Step, StepReply>;

  constructor(scripts: GroupScripts) {
    // Batches are per incarnation, `<group>.<epoch>` like a job id's start: a job left from an earlier
    // group of the same id is judged against its own epoch, never batched with the new group's.
    this.#batcher = new KeyedBatcher(async (key, steps) => {
      const dot = key.lastIndexOf('.');
      const groupId = key.slice(0, dot);
      const epoch = key.slice(dot + 1);
      const finishes: FinishRequest[] = [];
      const starts: StartRequest[] = [];
      for (const step of steps) {
        if ('finish' in step) finishes.push(step.finish);
        else starts.push(step.start);
      }
      const { finished, started } = await scripts.finishAndStart(groupId, epoch, finishes, starts);
      let f = 0;
      let s = 0;
      return steps.map((step) => ('finish' in step ? finished[f++] : started[s++]) as StepReply);
    });
  }

  /** Whether the task may run (and, if so, it is marked running). */
  start(group: GroupOfTask, request: StartRequest): Promise<StartDecision> {
    return this.#batcher.submit(keyOf(group), { start: request }) as Promise<StartDecision>;
  }

  /** Records how an attempt ended. */
  finish(group: GroupOfTask, request: FinishRequest): Promise<FinishResult> {
    return this.#batcher.submit(keyOf(group), { finish: request }) as Promise<FinishResult>;
  }
}

/** An epoch never contains a dot (see newEpoch), so the last dot splits the key back. */
function keyOf(group: GroupOfTask): string {
  return `${group.groupId}.${group.epoch}`;
}
