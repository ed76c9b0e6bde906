// Short human summaries of patches and conflicts, for the CLI and the editor's messages.

import { conflictLine } from './check';
import type { Conflict, Patch } from './types';

export function patchSummary(patch: Patch): string {
  const bytes = patch.hunks.reduce((n, h) => n + h.original.length, 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(patch.hunks.length, 'hunk')} in ${plural(patch.tensors.length, 'tensor')}, ${plural(bytes, 'byte')} changed`;
}

/** At most `max` conflict lines, then a count of the rest. */
export function conflictLines(conflicts: Conflict[], max = 50): string {
  const lines = conflicts.slice(0, max).map((c) => `conflict: ${conflictLine(c)}\n`);
  if (conflicts.length > max) lines.push(`... and ${conflicts.length - max} more conflicts\n`);
  return lines.join('');
}
