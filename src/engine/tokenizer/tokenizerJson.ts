// The vocabulary of a Hugging Face tokenizer.json (the `tokenizers` library's file): id ->
// token string, so the rows of an embedding matrix can be labelled with their tokens.
//
//   model.vocab   BPE, WordPiece, WordLevel: an object { token: id }
//                 Unigram: an array of [token, score] pairs, the id being the position
//   added_tokens  [{ id, content, special, ... }]: special and user-added tokens; they name
//                 ids beyond the model's vocabulary or replace an entry's text
//
// Only the vocabulary is read (no normaliser, pre-tokeniser or merges): nothing here
// tokenises text.
import { readFile, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { UserError } from '../errors';

export interface Vocabulary {
  /** tokens[id]; '' for an id the file does not name. */
  tokens: string[];
  /** 'BPE' | 'WordPiece' | 'Unigram' | 'WordLevel' (model.type, or guessed from the model's fields). */
  model: string;
  /** Entries of added_tokens. */
  added: number;
}

export const TOKENIZER_FILE = 'tokenizer.json';
/** Largest id accepted: far above any real vocabulary, low enough that a bad id cannot exhaust memory. */
const MAX_ID = 1 << 24;
const MAX_FILE_BYTES = 512 * 2 ** 20;

/** Parse the text of a tokenizer.json; `label` names the file in errors. */
export function parseTokenizerJson(text: string, label: string): Vocabulary {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${label}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(root)) throw new UserError(`${label}: expected a JSON object`);
  const model = root.model;
  if (!isObject(model)) throw new UserError(`${label}: no "model" object (not a Hugging Face tokenizer.json?)`);
  const vocab = model.vocab;
  const tokens: string[] = [];
  const set = (id: unknown, token: unknown, where: string) => {
    if (typeof token !== 'string') throw new UserError(`${label}: ${where} is not a string`);
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= MAX_ID) {
      throw new UserError(`${label}: ${where} has id ${JSON.stringify(id)}; ids must be integers from 0 to ${MAX_ID - 1}`);
    }
    const i = id as number;
    while (tokens.length <= i) tokens.push('');
    tokens[i] = token;
  };

  let kind: string;
  if (Array.isArray(vocab)) {
    // Unigram: [token, score] pairs; the position is the id.
    vocab.forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') throw new UserError(`${label}: model.vocab[${i}] is not a [token, score] pair`);
      set(i, entry[0], `model.vocab[${i}]`);
    });
    kind = typeof model.type === 'string' ? model.type : 'Unigram';
  } else if (isObject(vocab)) {
    for (const [token, id] of Object.entries(vocab)) set(id, token, `model.vocab entry ${JSON.stringify(token)}`);
    kind = typeof model.type === 'string' ? model.type : 'merges' in model ? 'BPE' : 'continuing_subword_prefix' in model ? 'WordPiece' : 'WordLevel';
  } else {
    throw new UserError(`${label}: model.vocab is missing or neither an object nor an array`);
  }

  const added = root.added_tokens ?? [];
  if (!Array.isArray(added)) throw new UserError(`${label}: added_tokens is not an array`);
  added.forEach((entry, i) => {
    if (!isObject(entry)) throw new UserError(`${label}: added_tokens[${i}] is not an object`);
    set(entry.id, entry.content, `added_tokens[${i}]`);
  });
  return { tokens, model: kind, added: added.length };
}

/** The tokenizer.json in the model's folder, parsed; null when there is none. */
export async function readTokenizerNextTo(modelPath: string): Promise<{ path: string; vocabulary: Vocabulary } | null> {
  const path = nodePath.join(nodePath.dirname(modelPath), TOKENIZER_FILE);
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return null;
  if (info.size > MAX_FILE_BYTES) throw new UserError(`${path}: too large for a tokenizer.json (${info.size} bytes)`);
  const text = await readFile(path, 'utf8');
  return { path, vocabulary: parseTokenizerJson(text, path) };
}

/**
 * Whether the rows of a matrix are the tokens of a vocabulary: embedding matrices have one
 * row per token, often padded to a round size (Qwen2: 151,665 tokens in 151,936 rows; Phi-2:
 * 50,295 in 51,200), so a small difference either way is allowed.
 */
export function vocabularyFitsRows(tokenCount: number, rows: number): boolean {
  return Math.abs(rows - tokenCount) <= Math.max(64, Math.ceil(0.02 * tokenCount));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
