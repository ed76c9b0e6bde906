// Human-readable numbers for the model editor: sizes, counts, shapes, values. Pure functions.

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in binary units with three significant digits: 1536 -> "1.50 KB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return String(bytes);
  let unit = 0;
  let v = bytes;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${threeDigits(v)} ${BYTE_UNITS[unit]}`;
}

const COUNT_UNITS = ['', 'K', 'M', 'B', 'T'];

/** Counts (parameters, elements) in decimal units: 7_241_732_096 -> "7.24B". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n) || n < 0) return String(n);
  let unit = 0;
  let v = n;
  while (v >= 1000 && unit < COUNT_UNITS.length - 1) {
    v /= 1000;
    unit++;
  }
  if (unit === 0) return String(n);
  return `${threeDigits(v)}${COUNT_UNITS[unit]}`;
}

function threeDigits(v: number): string {
  // 3 significant digits, but never exponent notation and never "1000" from rounding up.
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Integer with thin group separators: 1234567 -> "1,234,567". */
export function formatInt(n: number): string {
  if (!Number.isInteger(n)) return String(n);
  const s = Math.abs(n).toString();
  const groups: string[] = [];
  for (let end = s.length; end > 0; end -= 3) groups.unshift(s.slice(Math.max(0, end - 3), end));
  return (n < 0 ? '-' : '') + groups.join(',');
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A value for display: compact but precise enough to tell neighbours apart (6 significant
 * digits), exponent notation for very small or large magnitudes.
 */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e15) return String(v);
  if (a >= 1e-4 && a < 1e6) return String(Number(v.toPrecision(6)));
  return v.toExponential(4);
}

/** A short label for a colour-bar tick: as few digits as the tick step needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, Math.min(6, Math.ceil(-Math.log10(step / a)))));
  const decimals = Math.max(0, Math.min(10, Math.ceil(-Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** Lowercase hex string in groups of bytes: "3f800000" -> "3f 80 00 00". */
export function spaceHex(hex: string): string {
  return hex.replace(/(..)(?!$)/g, '$1 ');
}
