/** Order statistics and number formatting shared by the suites. */

/** Sorts a copy ascending (numeric). */
export function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * The q-quantile (0..1) of an ascending array, by linear interpolation between the two
 * nearest ranks (R-7, what numpy and most spreadsheets use). NaN for an empty array.
 */
export function quantile(ascending: ArrayLike<number>, q: number): number {
  const n = ascending.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = ascending[lo]!;
  const b = ascending[hi]!;
  return a + (b - a) * (pos - lo);
}

export const median = (ascending: ArrayLike<number>): number => quantile(ascending, 0.5);

/** Three significant digits, no exponent, thousands grouped: 0.0123, 1.23, 123, 12,345. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return x.toFixed(Math.min(decimals, 6));
}

/** Milliseconds with a unit: `0.412 ms`, `12.3 ms`, `1,234 ms`. */
export const ms = (x: number): string => `${fmt(x)} ms`;

/** A ratio as `×1.23`. */
export const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `×${fmt(a / b)}` : 'n/a');

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Bytes as MiB with one decimal: `123.4 MiB`. */
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
