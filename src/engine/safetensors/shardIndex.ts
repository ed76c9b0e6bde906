// The index of a sharded model (model.safetensors.index.json, as written by Hugging Face
// transformers): {"metadata": {...}, "weight_map": {tensor name: shard file name}}.
// Shard names are resolved relative to the index's folder.

import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { UserError } from '../errors';

export interface ShardIndex {
  /** Absolute shard paths, sorted by name (model-00001-of-00003... comes first). */
  shards: string[];
  /** Tensor name -> absolute shard path. */
  weightMap: Map<string, string>;
  /** The index's "metadata", non-string values as JSON text; null when absent. */
  metadata: Record<string, string> | null;
}

const MAX_INDEX_BYTES = 100_000_000;

export async function readShardIndex(indexPath: string): Promise<ShardIndex> {
  const name = nodePath.basename(indexPath);
  const size = (await fs.stat(indexPath)).size;
  if (size > MAX_INDEX_BYTES) throw new UserError(`${name}: index is ${size} bytes, more than ${MAX_INDEX_BYTES} (not a shard index?)`);

  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new UserError(`${name}: not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) throw new UserError(`${name}: not a JSON object, so not a safetensors index`);

  const weightMap = json.weight_map;
  if (!isPlainObject(weightMap)) {
    throw new UserError(`${name}: no "weight_map" object (expected {"weight_map": {"tensor name": "shard file"}})`);
  }
  const dir = nodePath.dirname(indexPath);
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '') {
      throw new UserError(`${name}: weight_map entry for ${JSON.stringify(tensor)} is not a file name`);
    }
    map.set(tensor, nodePath.resolve(dir, shard));
  }
  if (map.size === 0) throw new UserError(`${name}: weight_map is empty`);

  let metadata: Record<string, string> | null = null;
  if (isPlainObject(json.metadata)) {
    metadata = {};
    for (const [k, v] of Object.entries(json.metadata)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }

  const shards = [...new Set(map.values())].sort();
  return { shards, weightMap: map, metadata };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
