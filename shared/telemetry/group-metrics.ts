import type { GroupState } from '../group-protocol/group-state.ts';
import { instruments } from './metrics.ts';
import { Attr } from './names.ts';

/** Counts a group that reached its final state; called by whichever call finished it (once per group). */
export function countGroup(state: GroupState | undefined): void {
  if (state === 'succeeded' || state === 'failed' || state === 'cancelled') {
    instruments().groups.add(1, { [Attr.groupState]: state });
  }
}
