// Generates the demo workspace's models with the project's own safetensors writer:
// a small transformer-like model (LLaMA-style names), a quantized model with F8/I8/BOOL,
// a conv net with 4-D kernels and a sharded model with its index.json. Deterministic
// (seeded), a few MB in all. Used by `npm start` (demo/models/) and the UI tests.
//
//   node --import tsx scripts/demo-models.ts OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DType } from '../src/shared/dtypes';
import { DTYPE_BITS } from '../src/shared/dtypes';
import { encodeElement } from '../src/engine/dtype/encode';
import { writeSafetensors } from '../src/engine/safetensors/writer';

interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** Small deterministic PRNG (mulberry32) so every run writes the same bytes. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Encodes values from `value(i)` as `dtype` (whole bytes; packed dtypes are not used here). */
function tensor(name: string, dtype: DType, shape: number[], value: (i: number) => number): Tensor {
  const n = numel(shape);
  const size = DTYPE_BITS[dtype] / 8;
  const data = new Uint8Array(n * size);
  if (dtype === 'F32') {
    const f = new Float32Array(data.buffer);
    for (let i = 0; i < n; i++) f[i] = value(i);
  } else {
    for (let i = 0; i < n; i++) encodeElement(dtype, value(i), data.subarray(i * size, (i + 1) * size));
  }
  return { name, dtype, shape, data };
}

/** Weights like a trained layer: normal with std 1/sqrt(fan_in), rows of varying scale. */
function weight(name: string, dtype: DType, shape: number[], seed: number): Tensor {
  const g = gaussian(rng(seed));
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const cols = fanIn;
  const rowScale = Array.from({ length: shape[0] }, (_, r) => 0.6 + 0.8 * Math.abs(Math.sin(r * 0.37 + seed)));
  const std = 1 / Math.sqrt(fanIn);
  return tensor(name, dtype, shape, (i) => g() * std * rowScale[Math.floor(i / cols)]);
}

function norm(name: string, dim: number, seed: number): Tensor {
  const g = gaussian(rng(seed));
  return tensor(name, 'F32', [dim], () => 1 + 0.05 * g());
}

/** A LLaMA-style decoder: BF16 attention and embeddings, F16 MLP, F32 norms. */
export function transformerTensors(opts = { vocab: 2048, hidden: 256, intermediate: 688, layers: 2 }): Tensor[] {
  const { vocab, hidden, intermediate, layers } = opts;
  const out: Tensor[] = [weight('model.embed_tokens.weight', 'BF16', [vocab, hidden], 1)];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    const s = 100 * (l + 1);
    for (const [k, proj] of ['q_proj', 'k_proj', 'v_proj', 'o_proj'].entries()) {
      out.push(weight(`${p}.self_attn.${proj}.weight`, 'BF16', [hidden, hidden], s + k));
    }
    out.push(weight(`${p}.mlp.gate_proj.weight`, 'F16', [intermediate, hidden], s + 10));
    out.push(weight(`${p}.mlp.up_proj.weight`, 'F16', [intermediate, hidden], s + 11));
    out.push(weight(`${p}.mlp.down_proj.weight`, 'F16', [hidden, intermediate], s + 12));
    out.push(norm(`${p}.input_layernorm.weight`, hidden, s + 20));
    out.push(norm(`${p}.post_attention_layernorm.weight`, hidden, s + 21));
  }
  out.push(norm('model.norm.weight', hidden, 9));
  out.push(weight('lm_head.weight', 'BF16', [vocab, hidden], 10));
  return out;
}

/** Quantized linear layers: F8 and I8 weights with F32 scales, BOOL masks, integer ids. */
export function quantizedTensors(): Tensor[] {
  const out: Tensor[] = [];
  const g = gaussian(rng(7));
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}`;
    out.push(weight(`${p}.self_attn.q_proj.weight`, 'F8_E4M3', [128, 128], 300 + l));
    out.push(tensor(`${p}.self_attn.q_proj.weight_scale`, 'F32', [128], () => 0.01 + 0.002 * Math.abs(g())));
    out.push(weight(`${p}.self_attn.k_proj.weight`, 'F8_E5M2', [128, 128], 310 + l));
    out.push(tensor(`${p}.mlp.down_proj.qweight`, 'I8', [128, 344], () => Math.round(40 * g())));
    out.push(tensor(`${p}.mlp.down_proj.scales`, 'F32', [128], () => 0.005 + 0.001 * Math.abs(g())));
  }
  out.push(tensor('model.attention_mask', 'BOOL', [64, 64], (i) => (i % 64 <= Math.floor(i / 64) ? 1 : 0)));
  out.push(tensor('model.position_ids', 'I64', [1, 64], (i) => i));
  out.push(tensor('model.token_type_ids', 'I32', [1, 64], (i) => (i < 32 ? 0 : 1)));
  out.push(tensor('model.vocab_remap', 'U8', [256], (i) => (i * 37) % 256));
  // A tensor with problems worth finding: NaN, ±Inf and an outlier.
  out.push(
    tensor('debug.activations_with_nan', 'F32', [32, 32], (i) => {
      if (i === 5 || i === 77) return NaN;
      if (i === 100) return Infinity;
      if (i === 101) return -Infinity;
      if (i === 500) return 1000;
      return g();
    }),
  );
  return out;
}

/** A small conv net: 4-D kernels [out, in, kh, kw], a 3-D feature map, F16 and F32. */
export function convTensors(): Tensor[] {
  const g = gaussian(rng(21));
  return [
    weight('features.0.conv.weight', 'F32', [16, 3, 3, 3], 401),
    tensor('features.0.conv.bias', 'F32', [16], () => 0.1 * g()),
    norm('features.1.bn.weight', 16, 402),
    tensor('features.1.bn.running_var', 'F32', [16], () => 1 + 0.2 * Math.abs(g())),
    weight('features.3.conv.weight', 'F16', [32, 16, 3, 3], 403),
    tensor('features.3.conv.bias', 'F16', [32], () => 0.1 * g()),
    weight('features.6.conv.weight', 'F16', [64, 32, 5, 5], 404),
    tensor('features.sample_feature_map', 'F32', [8, 24, 24], (i) => {
      const c = Math.floor(i / 576), y = Math.floor((i % 576) / 24), x = i % 24;
      return Math.sin(x / (2 + c)) * Math.cos(y / (3 + c)) + 0.05 * g();
    }),
    weight('classifier.weight', 'F32', [10, 1024], 405),
    tensor('classifier.bias', 'F32', [10], () => 0.01 * g()),
  ];
}

/** Writes a model split over `shards` files plus model.safetensors.index.json. */
async function writeSharded(dir: string, tensors: Tensor[], shards: number, metadata: Record<string, string>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  const per = Math.ceil(tensors.length / shards);
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(s * per, (s + 1) * per);
    for (const t of part) {
      weightMap[t.name] = file;
      totalSize += t.data.byteLength;
    }
    await writeSafetensors(join(dir, file), part, metadata);
  }
  const index = { metadata: { total_size: totalSize, ...metadata }, weight_map: weightMap };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2) + '\n');
}

// ---- token embeddings with a tokenizer.json (the clustering view's demo) ----

/** Words of a few topics: the embedding rows of one topic cluster together. */
const TOPICS: Record<string, string[]> = {
  numbers: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'twelve', 'twenty', 'hundred', 'thousand', 'million'],
  colours: ['red', 'green', 'blue', 'yellow', 'orange', 'purple', 'pink', 'brown', 'black', 'white', 'gray', 'cyan', 'violet', 'indigo', 'teal', 'magenta'],
  animals: ['cat', 'dog', 'horse', 'cow', 'camel', 'goat', 'lion', 'tiger', 'bear', 'duck', 'fox', 'zebra', 'rabbit', 'eagle', 'owl', 'whale'],
  months: ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'],
  days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'today', 'tomorrow', 'yesterday'],
  countries: ['france', 'germany', 'spain', 'italy', 'japan', 'china', 'india', 'brazil', 'canada', 'mexico', 'egypt', 'kenya', 'norway', 'sweden', 'poland'],
  food: ['bread', 'apple', 'banana', 'cheese', 'rice', 'pasta', 'soup', 'salad', 'pizza', 'coffee', 'tea', 'milk', 'sugar', 'salt', 'butter'],
  verbs: ['run', 'walk', 'jump', 'swim', 'read', 'write', 'speak', 'think', 'build', 'make', 'take', 'give', 'see', 'look', 'play'],
  code: ['def', 'class', 'return', 'import', 'from', 'if', 'else', 'for', 'while', 'lambda', 'yield', 'async', 'await', 'const', 'let', 'function'],
};

/**
 * A byte-level BPE vocabulary in the style of GPT-2 ("Ġ" marks a leading space): special
 * tokens, the printable ASCII bytes, then each topic word in three forms (word, Ġword,
 * ĠWord; animals also as plurals), and numbers 0-99. Returns the tokens (id = position) and the topic
 * of each (-1 for bytes and special tokens).
 */
function demoVocabulary(): { tokens: string[]; topic: number[]; word: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const topic = [-1, -1, -1];
  const word = [-1, -1, -1];
  for (let b = 33; b < 127; b++) {
    tokens.push(String.fromCharCode(b));
    topic.push(-1);
    word.push(-1);
  }
  tokens.push('Ġ', 'Ċ');
  topic.push(-1, -1);
  word.push(-1, -1);
  const topics = Object.values(TOPICS);
  let wordId = 0;
  topics.forEach((words, t) => {
    for (const w of words) {
      const capital = w[0].toUpperCase() + w.slice(1);
      const forms = [w, `Ġ${w}`, `Ġ${capital}`];
      if (topics[t] === TOPICS.animals) forms.push(`${w}${w.endsWith('x') ? 'es' : 's'}`, `Ġ${w}${w.endsWith('x') ? 'es' : 's'}`);
      for (const form of forms) {
        if (tokens.includes(form)) continue;
        tokens.push(form);
        topic.push(t);
        word.push(wordId);
      }
      wordId++;
    }
  });
  for (let n = 0; n < 100; n++) {
    tokens.push(String(n), `Ġ${n}`);
    topic.push(topics.length, topics.length);
    word.push(wordId, wordId);
    wordId++;
  }
  return { tokens, topic, word };
}

/**
 * `tiny-embeddings/`: model.safetensors whose `model.embed_tokens.weight` rows cluster by
 * topic (and, within a topic, by word), and the matching tokenizer.json, so "Project Rows"
 * shows labelled clusters and nearest tokens make sense.
 */
export async function writeTokenEmbeddingDemo(dir: string, hidden = 64): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const { tokens, topic, word } = demoVocabulary();
  const g = gaussian(rng(77));
  const topicCount = Math.max(...topic) + 1;
  const centre = Array.from({ length: topicCount }, () => Array.from({ length: hidden }, () => 0.7 * g()));
  const wordCount = Math.max(...word) + 1;
  const wordOffset = Array.from({ length: wordCount }, () => Array.from({ length: hidden }, () => 0.6 * g()));
  const rows = tokens.length;
  const values = new Float32Array(rows * hidden);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < hidden; c++) {
      const base = topic[r] >= 0 ? centre[topic[r]][c] + wordOffset[word[r]][c] : 0;
      values[r * hidden + c] = 0.05 * (base + 0.3 * g());
    }
  }
  const embed = tensor('model.embed_tokens.weight', 'BF16', [rows, hidden], (i) => values[i]);
  const mlp = weight('model.layers.0.mlp.up_proj.weight', 'BF16', [4 * hidden, hidden], 78);
  const path = join(dir, 'model.safetensors');
  await writeSafetensors(path, [embed, mlp, norm('model.norm.weight', hidden, 79)], { format: 'pt' });
  const special = new Set(['<unk>', '<s>', '</s>']);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tokens.flatMap((t, id) => (special.has(t) ? [{ id, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] : [])),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(tokens.map((t, id) => [t, id])),
      merges: [],
    },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer, null, 2) + '\n');
  return path;
}

/** Writes every demo model under `outDir`; returns the paths written. */
export async function writeDemoModels(outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const single = async (file: string, tensors: Tensor[], metadata: Record<string, string>) => {
    const path = join(outDir, file);
    await writeSafetensors(path, tensors, metadata);
    written.push(path);
  };
  await single('tiny-llama.safetensors', transformerTensors(), { format: 'pt', architecture: 'LlamaForCausalLM' });
  await single('quantized.safetensors', quantizedTensors(), { format: 'pt', quantization: 'fp8-e4m3 / int8 per-row' });
  await single('conv-net.safetensors', convTensors(), { format: 'pt', architecture: 'SmallConvNet' });
  const shardedDir = join(outDir, 'sharded-llama');
  await writeSharded(
    shardedDir,
    transformerTensors({ vocab: 1024, hidden: 128, intermediate: 344, layers: 4 }),
    2,
    { format: 'pt' },
  );
  written.push(join(shardedDir, 'model.safetensors.index.json'));
  written.push(await writeTokenEmbeddingDemo(join(outDir, 'tiny-embeddings')));
  return written;
}

const isMain = process.argv[1] && resolve(process.argv[1]).endsWith('demo-models.ts');
if (isMain) {
  const outDir = resolve(process.argv[2] ?? 'demo/models');
  const t0 = Date.now();
  writeDemoModels(outDir).then(
    (paths) => console.log(`wrote ${paths.length} demo models to ${outDir} in ${Date.now() - t0} ms`),
    (err) => {
      console.error(`demo-models: ${err.message}`);
      process.exit(1);
    },
  );
}
