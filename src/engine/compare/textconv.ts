// A model as stable text, for git's textconv: with `*.safetensors diff=tensorscope` in
// .gitattributes and `git config diff.tensorscope.textconv "tensorscope textconv"`, plain
// `git diff` names exactly the tensors whose bytes changed. One line per tensor, sorted by
// name (code-point order), e.g.
//
//   embed.weight BF16 [257, 64] sha256:5f1c0e3a9b7d2c44 mean=0.00573145 std=0.998123 min=-3.875 max=3.98438
//
// The hash is the first 16 hex digits of the SHA-256 of the tensor's bytes; the numbers
// are over finite values (6 significant digits, `-` when there is none) and `nan=` /
// `inf=` appear only when nonzero. The same bytes always give the same text.
//
// textconv must never break `git diff`, so a file it cannot read becomes one comment line
// (`# tensorscope: <file>: <error>`) and the CLI still exits 0. A Git LFS pointer (what git
// diffs for LFS-tracked files) is replaced by its content from the local LFS store when
// this clone has it, else it becomes one line with its oid and size.

import { openModel } from '../safetensors/model';
import { byCodePoint } from './compareModels';
import { MAX_CHUNK_BYTES } from './chunking';
import { localLfsObject, readLfsPointer } from './gitLfs';
import { TensorDigester, type TensorDigest } from './tensorDigest';

export async function textconv(path: string, signal?: AbortSignal): Promise<string> {
  const pointer = await readLfsPointer(path);
  if (pointer) {
    // The content, when this clone has it, gives the same text as the file itself would.
    const local = await localLfsObject(pointer);
    if (!local) return `# tensorscope: Git LFS pointer (content not fetched): oid ${pointer.oid} size ${pointer.size}\n`;
    path = local;
  }
  const model = await openModel(path);
  try {
    const lines: string[] = [];
    const metadata = model.info.metadata ?? {};
    for (const key of Object.keys(metadata).sort(byCodePoint)) {
      lines.push(`__metadata__ ${JSON.stringify(key)}: ${JSON.stringify(metadata[key])}`);
    }
    const digester = new TensorDigester(MAX_CHUNK_BYTES);
    const tensors = [...model.info.tensors].sort((x, y) => byCodePoint(x.name, y.name));
    try {
      for (const t of tensors) {
        const digest = await digester.digest(model, t, signal);
        lines.push(`${displayName(t.name)} ${t.dtype} [${t.shape.join(', ')}] ${digestText(digest)}`);
      }
    } finally {
      await digester.close();
    }
    if (tensors.length === 0) lines.push('# tensorscope: no tensors');
    return lines.map((line) => `${line}\n`).join('');
  } finally {
    await model.close();
  }
}

/** The comment line textconv prints instead of failing. */
export function textconvErrorLine(path: string, message: string): string {
  return `# tensorscope: ${path}: ${message.replace(/\s*\n\s*/g, ' ')}\n`;
}

function digestText(d: TensorDigest): string {
  const parts = [`sha256:${d.sha256.slice(0, 16)}`, `mean=${num(d.mean)}`, `std=${num(d.std)}`, `min=${num(d.min)}`, `max=${num(d.max)}`];
  if (d.nan > 0) parts.push(`nan=${d.nan}`);
  if (d.inf > 0) parts.push(`inf=${d.inf}`);
  return parts.join(' ');
}

/** 6 significant digits, shortest form: 0.00573145, -3.875, 1e-7, 12345600. */
function num(x: number | null): string {
  return x === null ? '-' : String(Number(x.toPrecision(6)));
}

/** Names are shown bare unless they could break the line or be misread; then as JSON. */
function displayName(name: string): string {
  return /^[^\s"\\\p{C}]+$/u.test(name) ? name : JSON.stringify(name);
}
