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

/**
 * A worker's starts and finishes of one group's tasks: whatever it asks for at the same moment (or while
 * the previous call is on its way) goes to Redis as one finish-and-start call. At full speed one slot
 * finishes a task as another starts the next, so sharing the call saves about a fifth of the script
 * calls (bench SLOWLOG: 0.20 → 0.16 per task); finishing first means a failure stops starts beside it.
 */
export class GroupSteps {
  readonly #batcher: KeyedBatcher<Step, StepReply>;

  constructor(scripts: GroupScripts) {
    this.#batcher = new KeyedBatcher(async (groupId, steps) => {
      const finishes: FinishRequest[] = [];
      const starts: StartRequest[] = [];
      for (const step of steps) {
        if ('finish' in step) finishes.push(step.finish);
        else starts.push(step.start);
      }
      const { finished, started } = await scripts.finishAndStart(groupId, finishes, starts);
      let f = 0;
      let s = 0;
      return steps.map((step) => ('finish' in step ? finished[f++] : started[s++]) as StepReply);
    });
  }

  /** Whether the task may run (and, if so, it is marked running). */
  start(groupId: string, request: StartRequest): Promise<StartDecision> {
    return this.#batcher.submit(groupId, { start: request }) as Promise<StartDecision>;
  }

  /** Records how an attempt ended. */
  finish(groupId: string, request: FinishRequest): Promise<FinishResult> {
    return this.#batcher.submit(groupId, { finish: request }) as Promise<FinishResult>;
  }
}
