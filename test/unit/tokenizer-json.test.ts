// tokenizer.json vocabularies in the shapes the Hugging Face `tokenizers` library writes
// (BPE, WordPiece, Unigram; added tokens), the files found next to a model, bad files, and
// the token search of the clustering view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/engine/errors';
import { parseTokenizerJson, readTokenizerNextTo, vocabularyFitsRows } from '../../src/engine/tokenizer/tokenizerJson';
import { searchTokens, tokenIndex } from '../../src/engine/tokenizer/tokenSearch';

const dir = mkdtempSync(join(tmpdir(), 'tensorscope-tokenizer-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const added = (id: number, content: string, special = true) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special });

/** The top level every tokenizer.json has; `model` differs. */
function tokenizerJson(model: object, addedTokens: object[] = []): string {
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel' },
    model,
  });
}

test('BPE: model.vocab maps tokens to ids; added tokens extend the ids', () => {
  const text = tokenizerJson(
    { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab: { h: 0, e: 1, he: 3, Ġthe: 2, 'Ġ': 4 }, merges: ['h e', 'Ġ t'] },
    [added(5, '<|endoftext|>'), added(6, '<|pad|>')],
  );
  const v = parseTokenizerJson(text, 'tokenizer.json');
  assert.equal(v.model, 'BPE');
  assert.deepEqual(v.tokens, ['h', 'e', 'Ġthe', 'he', 'Ġ', '<|endoftext|>', '<|pad|>']);
  assert.equal(v.added, 2);
});

test('BPE without a "type" field (older files) is recognised by its merges', () => {
  const v = parseTokenizerJson(tokenizerJson({ vocab: { a: 1, b: 0 }, merges: [] }), 't.json');
  assert.equal(v.model, 'BPE');
  assert.deepEqual(v.tokens, ['b', 'a']);
});

test('WordPiece: vocab object with [CLS]/[SEP] as added tokens that repeat vocab entries; holes stay empty', () => {
  const vocab = { '[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, the: 1996, '##ing': 2075 };
  const v = parseTokenizerJson(
    tokenizerJson({ type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab }, [added(0, '[PAD]'), added(101, '[CLS]'), added(102, '[SEP]')]),
    'bert/tokenizer.json',
  );
  assert.equal(v.model, 'WordPiece');
  assert.equal(v.tokens.length, 2076);
  assert.equal(v.tokens[1996], 'the');
  assert.equal(v.tokens[2075], '##ing');
  assert.equal(v.tokens[101], '[CLS]');
  assert.equal(v.tokens[5], '');
  // No "type": recognised by its continuing_subword_prefix.
  assert.equal(parseTokenizerJson(tokenizerJson({ continuing_subword_prefix: '##', vocab: { a: 0 } }), 'x').model, 'WordPiece');
});

test('Unigram: vocab is a list of [token, score]; the position is the id; added tokens replace the text', () => {
  const v = parseTokenizerJson(
    tokenizerJson({ type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0], ['▁the', -3.1], ['▁a', -3.5], ['s', -4.2]], byte_fallback: false }, [added(0, '<unk>'), added(4, '<mask>')]),
    'sp/tokenizer.json',
  );
  assert.equal(v.model, 'Unigram');
  assert.deepEqual(v.tokens, ['<unk>', '▁the', '▁a', 's', '<mask>']);
});

test('bad files: one-line UserErrors naming the file and the problem', () => {
  const cases: [string, RegExp][] = [
    ['{"model": ', /bad\.json: not valid JSON/],
    ['[1, 2]', /bad\.json: expected a JSON object/],
    ['{"version": "1.0"}', /bad\.json: no "model" object/],
    [JSON.stringify({ model: { type: 'BPE' } }), /bad\.json: model\.vocab is missing/],
    [JSON.stringify({ model: { vocab: { a: -1 } } }), /bad\.json: model\.vocab entry "a" has id -1/],
    [JSON.stringify({ model: { vocab: { a: 1.5 } } }), /has id 1\.5/],
    [JSON.stringify({ model: { vocab: { a: 99999999999 } } }), /has id 99999999999/],
    [JSON.stringify({ model: { vocab: [['a', 0], 'b'] } }), /bad\.json: model\.vocab\[1\] is not a \[token, score\] pair/],
    [JSON.stringify({ model: { vocab: {} }, added_tokens: {} }), /added_tokens is not an array/],
    [JSON.stringify({ model: { vocab: {} }, added_tokens: [{ id: 3 }] }), /added_tokens\[0\] is not a string/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseTokenizerJson(text, 'bad.json'), (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, message);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
});

test('readTokenizerNextTo: the tokenizer.json in the model’s folder, or null', async () => {
  const modelDir = join(dir, 'with');
  const bare = join(dir, 'without');
  for (const d of [modelDir, bare]) rmSync(d, { recursive: true, force: true });
  mkdirSync(modelDir);
  mkdirSync(bare);
  writeFileSync(join(modelDir, 'tokenizer.json'), tokenizerJson({ type: 'BPE', vocab: { x: 0, y: 1 }, merges: [] }));
  const found = await readTokenizerNextTo(join(modelDir, 'model.safetensors'));
  assert.equal(found?.path, join(modelDir, 'tokenizer.json'));
  assert.deepEqual(found?.vocabulary.tokens, ['x', 'y']);
  assert.equal(await readTokenizerNextTo(join(bare, 'model.safetensors')), null);
});

test('vocabularyFitsRows: equal or padded embedding rows fit; unrelated row counts do not', () => {
  assert.ok(vocabularyFitsRows(50257, 50257)); // GPT-2
  assert.ok(vocabularyFitsRows(151665, 151936)); // Qwen2, padded
  assert.ok(vocabularyFitsRows(50295, 51200)); // Phi-2, padded
  assert.ok(vocabularyFitsRows(2000, 2048));
  assert.ok(!vocabularyFitsRows(2048, 688)); // an MLP weight of the same model
  assert.ok(!vocabularyFitsRows(32000, 4096));
});

test('token search: raw exact match, then unmarked exact, prefix, substring; case-insensitive; total counts all', () => {
  const tokens = ['the', 'Ġthe', 'Ġthere', 'The', 'other', 'ĠThe', '▁them', '##the', 'x', '', 'Ġ'];
  const index = tokenIndex(tokens);
  const r = searchTokens(index, 'the', 50);
  assert.equal(r.total, 8);
  assert.deepEqual(
    r.matches.map((m) => m.token),
    ['the', 'The', 'Ġthe', 'ĠThe', '##the', '▁them', 'Ġthere', 'other'],
  );
  assert.deepEqual(r.matches[0], { id: 0, token: 'the' });
  assert.deepEqual(searchTokens(index, 'the', 2).matches.map((m) => m.id), [0, 3]);
  assert.equal(searchTokens(index, 'the', 50, 3).total, 3, 'ids beyond idLimit are not searched');
  assert.deepEqual(searchTokens(index, 'Ġ', 50).matches.map((m) => m.token), ['Ġ', 'Ġthe', 'ĠThe', 'Ġthere'], 'a marker alone matches raw tokens');
  assert.equal(searchTokens(index, '  ', 50).total, 0);
  assert.equal(searchTokens(index, 'zzz', 50).total, 0);
});
