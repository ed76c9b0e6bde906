// Whether two models have the same layout: the same tensors (names, dtypes, shapes) at the
// same data offsets in the same files. Only then can their difference be written as a
// .stpatch, which carries tensor bytes and never changes a header (docs/stpatch.md).

import type { ModelInfo, TensorInfo } from '../../shared/protocol';

/** The first layout difference between A and B as one line, or null when they match. */
export function layoutsMatch(a: ModelInfo, b: ModelInfo): string | null {
  if (a.files.length !== b.files.length) {
    return `A has ${plural(a.files.length, 'file')}, B has ${b.files.length}`;
  }
  const byNameB = new Map(b.tensors.map((t) => [t.name, t]));
  for (const ta of a.tensors) {
    const tb = byNameB.get(ta.name);
    if (!tb) return `tensor ${JSON.stringify(ta.name)} is only in A`;
    const difference = tensorLayoutDifference(ta, tb);
    if (difference) return `tensor ${JSON.stringify(ta.name)}: ${difference}`;
  }
  if (b.tensors.length !== a.tensors.length) {
    const namesA = new Set(a.tensors.map((t) => t.name));
    const extra = b.tensors.find((t) => !namesA.has(t.name));
    if (extra) return `tensor ${JSON.stringify(extra.name)} is only in B`;
  }
  return null;
}

function tensorLayoutDifference(ta: TensorInfo, tb: TensorInfo): string | null {
  if (ta.dtype !== tb.dtype) return `dtype ${ta.dtype} in A, ${tb.dtype} in B`;
  if (ta.shape.length !== tb.shape.length || ta.shape.some((d, i) => d !== tb.shape[i])) {
    return `shape [${ta.shape.join(', ')}] in A, [${tb.shape.join(', ')}] in B`;
  }
  if (ta.fileIndex !== tb.fileIndex) return `in file ${ta.fileIndex} of A, file ${tb.fileIndex} of B`;
  // Data offsets, not file offsets: a header that differs only in __metadata__ may have
  // another length, and the patch (made against A) still fits A.
  if (ta.dataOffsets[0] !== tb.dataOffsets[0]) {
    return `at data offset ${ta.dataOffsets[0]} in A, ${tb.dataOffsets[0]} in B`;
  }
  return null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
