// A JSON-RPC content codec that carries Uint8Array values as raw bytes. A message is
// [u32 json length][json][blob 0][blob 1]...; in the JSON each Uint8Array is replaced
// by {"$bin": i, "n": byteLength}. Used by vscode-jsonrpc's contentTypeEncoder/Decoder on
// both ends of the engine's stdio (see src/engine/server.ts and src/extension/engineClient.ts).
// Blobs are numbered in JSON document order, which is the order in which both
// JSON.stringify's replacer and JSON.parse's reviver visit them.

export const BINARY_CONTENT_TYPE = 'application/x-tensorscope-rpc';

export function encodeMessage(message: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(message, function (this: Record<string, unknown>, key, value) {
    // Look at the holder's raw value: a Node Buffer has toJSON(), which has already turned
    // `value` into {type: 'Buffer', data: [...]} (a JSON number array) by now.
    const raw = this[key];
    if (raw instanceof Uint8Array) {
      blobs.push(raw);
      return { $bin: blobs.length - 1, n: raw.byteLength };
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
  if (bytes.byteLength < 4) throw new Error('binary message too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(0, true);
  if (4 + jsonLength > bytes.byteLength) throw new Error('binary message truncated');
  const json = new TextDecoder().decode(bytes.subarray(4, 4 + jsonLength));
  let at = 4 + jsonLength;
  let next = 0;
  return JSON.parse(json, (_key, value) => {
    if (isBlobRef(value)) {
      if (value.$bin !== next || at + value.n > bytes.byteLength) throw new Error('binary message blobs out of order or truncated');
      // A copy, as a plain Uint8Array (not a Buffer view into the reader's chunk), so the
      // blob owns its buffer and can be transferred to a webview.
      const blob = new Uint8Array(bytes.subarray(at, at + value.n));
      next++;
      at += value.n;
      return blob;
    }
    return value;
  });
}

function isBlobRef(value: unknown): value is { $bin: number; n: number } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.$bin === 'number' && typeof v.n === 'number' && Object.keys(v).length === 2;
}

// The codec in the shape vscode-jsonrpc's MessageReader/MessageWriter options expect
// (contentTypeDecoder / contentTypeEncoder); typed structurally so this module has no
// runtime dependency. Both ends of the engine's stdio must use both.
export const binaryContentTypeEncoder = {
  name: BINARY_CONTENT_TYPE,
  encode: async (message: unknown): Promise<Uint8Array> => encodeMessage(message),
};

export const binaryContentTypeDecoder = {
  name: BINARY_CONTENT_TYPE,
  // vscode-jsonrpc's Message type is structural; the caller's reader checks it.
  decode: async (bytes: Uint8Array): Promise<any> => decodeMessage(bytes),
};
