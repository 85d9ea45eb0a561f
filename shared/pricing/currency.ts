// ISO 4217 minor units: how many decimals a statement line is rounded to. A fixed table rather
// than Intl, so workerd and Node round identically whatever ICU data they carry.

const MINOR_UNITS: Record<string, number> = {
  // zero decimals
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0,
  UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  // three decimals
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  // four decimals
  CLF: 4, UYW: 4,
};

/** Decimals of `currency`'s minor unit; 2 for any code not listed as an exception. */
export function minorUnits(currency: string): number {
  return MINOR_UNITS[currency] ?? 2;
}
