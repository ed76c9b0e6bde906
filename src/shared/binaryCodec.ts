// A JSON-RPC content codec that carries Uint8Array values as raw bytes. A message is
// [u32 json length][json][blob 0][blob 1]...; in the JSON each Uint8Array is replaced
// by {"$bin": i, "n": byteLength}. Used by vscode-jsonrpc's contentTypeEncoder/Decoder on
// both ends of the engine's stdio.

export const BINARY_CONTENT_TYPE = 'application/x-tensorscope-rpc';

export function encodeMessage(message: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(message, (_key, value) => {
    if (value instanceof Uint8Array) {
      blobs.push(value);
      return { $bin: blobs.length - 1, n: value.byteLength };
    }
    return value;
  });
  const jsonBytes = new TextEncoder().encode(json);
  let total = 4 + jsonBytes.byteLength;
  for (const b of blobs) total += b.byteLength;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, jsonBytes.byteLength, true);
  out.set(jsonBytes, 4);
  let at = 4 + jsonBytes.byteLength;
  for (const b of blobs) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

export function decodeMessage(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(0, true);
  const json = new TextDecoder().decode(bytes.subarray(4, 4 + jsonLength));
  // Blobs follow in order; their offsets come from the lengths recorded in the JSON.
  const found: { obj: Record<string, unknown>; key: string; index: number; n: number }[] = [];
  const parsed = JSON.parse(json, function (this: Record<string, unknown>, key, value) {
    if (value && typeof value === 'object' && typeof value.$bin === 'number' && typeof value.n === 'number' && Object.keys(value).length === 2) {
      found.push({ obj: this, key, index: value.$bin, n: value.n });
    }
    return value;
  });
  found.sort((a, b) => a.index - b.index);
  let at = 4 + jsonLength;
  const blobs: Uint8Array[] = [];
  for (const f of found) {
    // Copy so the blob owns its buffer (safe to transfer to a webview).
    blobs[f.index] = bytes.slice(at, at + f.n);
    at += f.n;
  }
  for (const f of found) f.obj[f.key] = blobs[f.index];
  return parsed;
}
