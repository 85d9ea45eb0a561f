// Units and money as bigint numerators over fixed denominators (DESIGN §6 "Exact arithmetic").
//
// A rate is units per license-hour with at most 12 decimals, so license-ms × count × rate is an
// integer over UNIT_DEN = 3.6e6 ms/h × 10^12. Every unit quantity (usage, grants, tiers,
// included units, limits) is such a numerator; decimal inputs with ≤ 12 decimals fit exactly.
// Money = units × price (price ≤ 12 decimals) is an integer over MONEY_DEN = UNIT_DEN × 10^12,
// so it stays an exact rational until a statement line is rounded to the currency's minor unit.
import { divRoundHalfAway, formatRatio, formatScaled, parseScaled, pow10 } from "../decimal/decimal.ts";

/** Decimals allowed in rates, prices, fees and unit amounts. */
export const SCALE = 12;
export const SCALE_FACTOR = pow10(SCALE);
export const MS_PER_HOUR = 3_600_000n;
export const UNIT_DEN = MS_PER_HOUR * SCALE_FACTOR;
/** Units are printed with at most this many decimals (rounded half away from zero for display only). */
export const UNIT_DISPLAY_DECIMALS = 6;

/** Unit numerator of a decimal unit amount ("100", "0.5"). */
export function unitsFromText(text: string): bigint {
  return parseScaled(text, SCALE) * MS_PER_HOUR;
}

/** A unit numerator as decimal text with at most 6 decimals. */
export function formatUnits(units: bigint): string {
  return formatRatio(units, UNIT_DEN, UNIT_DISPLAY_DECIMALS);
}

/** A unit numerator rounded to millionths (the precision statements show). */
export function unitsToMicro(units: bigint): bigint {
  return divRoundHalfAway(units * pow10(UNIT_DISPLAY_DECIMALS), UNIT_DEN);
}

/** units × price (price scaled by 10^12), rounded half away from zero to `minor` decimals. */
export function moneyMinor(units: bigint, priceScaled: bigint, minor: number): bigint {
  return divRoundHalfAway(units * priceScaled * pow10(minor), UNIT_DEN * SCALE_FACTOR);
}

/** A money amount scaled by 10^12 (a fee) rounded half away from zero to `minor` decimals. */
export function feeMinor(feeScaled: bigint, minor: number): bigint {
  return divRoundHalfAway(feeScaled * pow10(minor), SCALE_FACTOR);
}

export function formatMinor(amount: bigint, minor: number): string {
  return formatScaled(amount, minor, minor);
}
