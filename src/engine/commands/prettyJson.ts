// JSON for people and for jq: objects one key per line, arrays of plain values (numbers,
// strings, short tuples) on one line, so a 64-bin histogram is one line, not 64.

export function prettyJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every(isFlat)) return JSON.stringify(value);
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A plain value, or an array of plain values (a tuple such as a quantile [p, v]). */
function isFlat(v: unknown): boolean {
  if (Array.isArray(v)) return v.every((x) => x === null || typeof x !== 'object');
  return v === null || typeof v !== 'object';
}
