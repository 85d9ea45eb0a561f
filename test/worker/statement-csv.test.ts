// The statement's CSV (worker/statement-csv.ts): feature names come from the sites' license servers,
// so a name a spreadsheet would run as a formula is written as text, and the amounts stay numbers.
import { describe, expect, it } from "vitest";
import { statementCsv } from "../../worker/statement-csv.ts";
import type { PublicStatement } from "../../worker/contract/billing-requests.ts";

describe("statement CSV", () => {
  it("a text cell a spreadsheet would run as a formula gets a leading quote; numbers and plain names stay as they are", () => {
    const line = (feature: string, amount: string) => ({ id: `tier:x:${feature}`, kind: "usage", description: feature, feature, quantity: "1", unit_price: "2.00", amount });
    const s = {
      contract_id: "ctr_x", period: { start_date: "2026-11-01" }, state: "open", currency: "EUR", total: "-3.00",
      lines: [line('=HYPERLINK("http://evil","x")', "1.00"), line("+1", "1.00"), line("@SUM(A1)", "1.00"), line("-2", "-6.00"), line("MATLAB", "1.00")],
    } as unknown as PublicStatement;
    const rows = statementCsv(s).split("\r\n");
    expect(rows.slice(1, 6)).toEqual([
      `"tier:x:=HYPERLINK(""http://evil"",""x"")",usage,"'=HYPERLINK(""http://evil"",""x"")","'=HYPERLINK(""http://evil"",""x"")",,1,2.00,1.00,`,
      "tier:x:+1,usage,'+1,'+1,,1,2.00,1.00,",
      "tier:x:@SUM(A1),usage,'@SUM(A1),'@SUM(A1),,1,2.00,1.00,",
      "tier:x:-2,usage,'-2,'-2,,1,2.00,-6.00,",
      "tier:x:MATLAB,usage,MATLAB,MATLAB,,1,2.00,1.00,",
    ]);
    expect(rows[6]).toBe("total,total,Total 2026-11-01 (open),,,,,-3.00,");
  });
});
