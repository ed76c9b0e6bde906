// Streams one tensor's bytes in chunks through two reusable buffers, reading the next
// chunk while the caller works on the current one (so disk and CPU overlap).

import type { TensorInfo } from '../../shared/protocol';
import { tensorByteLength, type Model } from '../safetensors/model';

/**
 * Yields [offset, bytes] for consecutive chunks of at most `step` bytes of the tensor's
 * byte range [start, end). A yielded array is only valid until the next one is asked for:
 * it is one of the two `buffers` (each at least `step` bytes).
 */
export async function* tensorChunks(
  model: Model,
  t: TensorInfo,
  step: number,
  buffers: [Uint8Array, Uint8Array],
  start = 0,
  end = tensorByteLength(t),
): AsyncGenerator<[number, Uint8Array]> {
  const read = async (offset: number, slot: number): Promise<Uint8Array> => {
    const dest = buffers[slot].subarray(0, Math.min(step, end - offset));
    const n = await model.readInto(t, offset, dest);
    if (n !== dest.length) throw new Error(`short read of tensor '${t.name}' at byte ${offset}`);
    return dest;
  };
  let pending: Promise<Uint8Array> | null = start < end ? read(start, 0) : null;
  try {
    for (let offset = start, slot = 0; offset < end; offset += step, slot ^= 1) {
      const chunk = await pending!;
      const next = offset + step;
      pending = next < end ? read(next, slot ^ 1) : null;
      yield [offset, chunk];
    }
  } finally {
    // Set only when the consumer stopped early or a read failed: never leave a read dangling.
    await pending?.catch(() => {});
  }
}
