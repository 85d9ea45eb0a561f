import { describe, expect, it } from "vitest";
import { DecimalError, divRoundHalfAway, formatRatio, formatScaled, isDecimalText, parseScaled } from "../../../shared/decimal/decimal.ts";

describe("exact decimals", () => {
  it("parses plain decimal text to a scaled bigint", () => {
    expect(parseScaled("12.5", 3)).toBe(12500n);
    expect(parseScaled("-0.001", 3)).toBe(-1n);
    expect(parseScaled("0", 12)).toBe(0n);
  });

  it.each(["1e3", "1E-2", "NaN", "Infinity", ".5", "5.", "+1", "01", " 1", "1,5", "0x10", ""])("rejects %j", (text) => {
    expect(() => parseScaled(text, 6)).toThrow(DecimalError);
    expect(isDecimalText(text, 6)).toBe(false);
  });

  it("rejects numbers (floats never enter) and too many decimals", () => {
    expect(() => parseScaled(0.1 as unknown as string, 6)).toThrow(DecimalError);
    expect(isDecimalText(1, 6)).toBe(false);
    expect(() => parseScaled("0.1234567", 6)).toThrow(/more than 6 decimals/);
  });

  it("rounds half away from zero", () => {
    expect(divRoundHalfAway(5n, 2n)).toBe(3n);
    expect(divRoundHalfAway(-5n, 2n)).toBe(-3n);
    expect(divRoundHalfAway(7n, 3n)).toBe(2n);
    expect(divRoundHalfAway(-7n, 3n)).toBe(-2n);
    expect(divRoundHalfAway(5n, -2n)).toBe(-3n);
  });

  it("formats with trailing zeros trimmed down to the minimum decimals", () => {
    expect(formatScaled(1250n, 3)).toBe("1.25");
    expect(formatScaled(5n, 0, 2)).toBe("5.00");
    expect(formatScaled(-5n, 2, 2)).toBe("-0.05");
    expect(formatScaled(0n, 2, 2)).toBe("0.00");
    // 1/3 shown with at most 6 decimals; 2/3 rounds up
    expect(formatRatio(1n, 3n, 6)).toBe("0.333333");
    expect(formatRatio(2n, 3n, 6)).toBe("0.666667");
    expect(formatRatio(-1n, 2_000_000n, 6)).toBe("-0.000001");
    expect(formatRatio(1n, 4_000_000n, 6)).toBe("0");
  });
});
