// Exact decimals as scaled bigints: strict parsing of decimal text, formatting, and division
// with rounding half away from zero. Money and units never pass through a float.

/** Raised for text that is not a plain decimal (floats as numbers, NaN, exponents, signs like "+1"). */
export class DecimalError extends Error {
  readonly code = "invalid_decimal";
}

const DECIMAL = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
const powers: bigint[] = [];

/** 10^n as a bigint (cached). */
export function pow10(n: number): bigint {
  let p = powers[n];
  if (p === undefined) { p = 10n ** BigInt(n); powers[n] = p; }
  return p;
}

/** Whether `text` is a plain decimal with at most `maxDecimals` decimals ("12", "-0.5"; never "1e3", ".5", "+1"). */
export function isDecimalText(text: unknown, maxDecimals: number): text is string {
  if (typeof text !== "string") return false;
  const m = DECIMAL.exec(text);
  return m !== null && (m[3] ?? "").length <= maxDecimals;
}

/** `text` × 10^scale as a bigint; throws DecimalError if it is not a decimal or has more than `scale` decimals. */
export function parseScaled(text: string, scale: number): bigint {
  if (typeof text !== "string") throw new DecimalError(`expected a decimal string, got ${typeof text}`);
  const m = DECIMAL.exec(text);
  if (!m) throw new DecimalError(`"${text}" is not a decimal`);
  const frac = m[3] ?? "";
  if (frac.length > scale) throw new DecimalError(`"${text}" has more than ${scale} decimals`);
  const magnitude = BigInt(m[2]! + frac.padEnd(scale, "0"));
  return m[1] === "-" ? -magnitude : magnitude;
}

/** n / d rounded to an integer, halves away from zero (d ≠ 0). */
export function divRoundHalfAway(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError("division by zero");
  if (d < 0n) { n = -n; d = -d; }
  const negative = n < 0n;
  const a = negative ? -n : n;
  const q = (2n * a + d) / (2n * d);
  return negative ? -q : q;
}

/** ceil(n / d) for n ≥ 0, d > 0. */
export function divCeil(n: bigint, d: bigint): bigint {
  return (n + d - 1n) / d;
}

/**
 * A scaled integer (`n` / 10^scale) as decimal text with at least `minDecimals` decimals and
 * trailing zeros beyond that trimmed: formatScaled(1250n, 3) = "1.25", formatScaled(5n, 0, 2) = "5.00".
 */
export function formatScaled(n: bigint, scale: number, minDecimals = 0): string {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  let frac = digits.slice(digits.length - scale);
  let end = frac.length;
  while (end > minDecimals && frac[end - 1] === "0") end--;
  frac = frac.slice(0, end).padEnd(minDecimals, "0");
  const text = frac.length > 0 ? `${whole}.${frac}` : whole;
  return negative && /[1-9]/.test(text) ? `-${text}` : text;
}

/** The exact rational n / d shown with at most `maxDecimals` decimals, rounded half away from zero. */
export function formatRatio(n: bigint, d: bigint, maxDecimals: number, minDecimals = 0): string {
  return formatScaled(divRoundHalfAway(n * pow10(maxDecimals), d), maxDecimals, minDecimals);
}

/** Compare two bigints: -1, 0 or 1. */
export function compare(a: bigint, b: bigint): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function minBig(a: bigint, b: bigint): bigint { return a < b ? a : b; }
export function maxBig(a: bigint, b: bigint): bigint { return a > b ? a : b; }
