// A tensor computed on the fly (B − A of two models, a patch's values), seen as a Model so
// that tiles, regions and single elements (compute/tile.ts) work on it unchanged. It is an
// F64 tensor of the given shape: reading bytes [start, end) asks `fill` for elements
// [start / 8, end / 8). The tile code reads only the elements of its viewport, in chunks of
// at most a few MiB, so a derived tensor never exists as a whole.

import type { ModelInfo, TensorInfo } from '../../shared/protocol';
import { UserError } from '../errors';
import type { Model } from '../safetensors/model';

/** Writes elements [first, first + out.length) of the derived tensor into `out`. */
export type FillValues = (first: number, out: Float64Array) => Promise<void>;

const BYTES = 8;

export interface DerivedTensor {
  model: Model;
  tensor: TensorInfo;
}

export function derivedTensor(name: string, shape: number[], fill: FillValues): DerivedTensor {
  const numel = shape.reduce((a, b) => a * b, 1);
  const size = numel * BYTES;
  const tensor: TensorInfo = { name, dtype: 'F64', shape: [...shape], dataOffsets: [0, size], fileOffset: 0, fileIndex: 0 };
  const info: ModelInfo = { path: `(derived) ${name}`, files: [{ path: `(derived) ${name}`, size, headerLength: 0 }], metadata: null, tensors: [tensor] };

  // One tensor only: reads name it, so the TensorInfo argument is not needed.
  const readInto = async (_t: TensorInfo, start: number, dest: Uint8Array): Promise<number> => {
    if (start % BYTES !== 0) throw new Error(`derived tensor read at byte ${start}, not on an element`);
    const n = Math.max(0, Math.min(dest.length, size - start));
    const count = Math.floor(n / BYTES);
    if (count === 0) return 0;
    if (dest.byteOffset % BYTES === 0) {
      await fill(start / BYTES, new Float64Array(dest.buffer, dest.byteOffset, count));
    } else {
      const values = new Float64Array(count);
      await fill(start / BYTES, values);
      dest.set(new Uint8Array(values.buffer), 0);
    }
    return count * BYTES;
  };

  const model: Model = {
    info,
    tensor(n: string): TensorInfo {
      if (n !== name) throw new UserError(`no tensor ${JSON.stringify(n)} here`);
      return tensor;
    },
    readInto,
    async read(t: TensorInfo, start: number, end: number): Promise<Uint8Array> {
      const bytes = new Uint8Array(Math.max(0, end - start));
      await readInto(t, start, bytes);
      return bytes;
    },
    async close(): Promise<void> {},
  };
  return { model, tensor };
}
