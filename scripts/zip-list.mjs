// Lists the entries of a zip file (a VSIX) from its central directory: name and
// uncompressed size. Enough for checking what a package holds; no extraction.
import { readFileSync } from 'node:fs';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;

/** @returns {{ name: string, size: number, compressedSize: number }[]} */
export function listZip(path) {
  const buf = readFileSync(path);
  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path}: not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let pos = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(pos) !== CENTRAL_SIGNATURE) throw new Error(`${path}: bad central directory entry ${i}`);
    const compressedSize = buf.readUInt32LE(pos + 20);
    const size = buf.readUInt32LE(pos + 24);
    const nameLength = buf.readUInt16LE(pos + 28);
    const extraLength = buf.readUInt16LE(pos + 30);
    const commentLength = buf.readUInt16LE(pos + 32);
    const name = buf.toString('utf8', pos + 46, pos + 46 + nameLength);
    entries.push({ name, size, compressedSize });
    pos += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
