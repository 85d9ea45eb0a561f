import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import {
  ContractDocError, decodeSyncAnswer, decodeSyncRequest, encodeSyncAnswer, encodeSyncRequest, readContractDoc,
  siteRootName, writeBalance, writeSite, writeTerms, type DocBalance,
} from "../../../shared/contract-doc/index.ts";
import { balanceAt, dayOfWeek, TERMS } from "./fixture.ts";

function codeOf(f: () => void): string | undefined {
  try { f(); } catch (err) { return err instanceof ContractDocError ? err.code : `not a ContractDocError: ${String(err)}`; }
  return undefined;
}

describe("the doc schema reads back exactly what was written, as plain JSON", () => {
  it("terms, balance and site roots round-trip; a field left out of a new write is removed", () => {
    const doc = new Y.Doc();
    writeTerms(doc, { ...TERMS, legacy: true });
    writeTerms(doc, TERMS);
    const balance = balanceAt(dayOfWeek(2), "12.5", { col_a: 120 });
    writeBalance(doc, balance);
    writeSite(doc, "col_a", { site_name: "Plant A", notes: "n", cost_centres: { alice: "CC-100", bob: "CC-200" } });
    writeSite(doc, "col_a", { notes: null, cost_centres: { bob: null } });
    expect(readContractDoc(doc)).toEqual({
      terms: TERMS, balance, sites: { col_a: { site_name: "Plant A", cost_centres: { alice: "CC-100" } } },
    });
    expect(doc.getMap("site:col_a").get("cost_centres")).toBeInstanceOf(Y.Map);
  });

  it("the doc keeps its own copy: mutating the written object afterwards changes nothing", () => {
    const doc = new Y.Doc();
    const terms = structuredClone(TERMS);
    writeTerms(doc, terms);
    terms.scope.features.push("Stateflow");
    expect(readContractDoc(doc).terms).toEqual(TERMS);
  });

  it("refuses terms and balances that are not plain JSON or break the balance shape, writing nothing", () => {
    const doc = new Y.Doc();
    const good = balanceAt(dayOfWeek(0), "1", {});
    const bad: unknown[] = [
      { ...good, remaining_units: 12.5 }, { ...good, remaining_units: "-1" }, { ...good, as_of: 5 },
      { ...good, collectors: { col_a: { acked_seq: -1 } } }, { ...good, collectors: { "bad id!": { acked_seq: 1 } } },
      { ...good, period: { start: "x" } }, { ...good, extra: Number.NaN }, { ...good, extra: new Date(0) },
    ];
    for (const balance of bad) expect(codeOf(() => writeBalance(doc, balance as DocBalance))).toBe("invalid_doc_content");
    expect(codeOf(() => writeTerms(doc, [] as never))).toBe("invalid_doc_content");
    expect(codeOf(() => writeTerms(doc, { rate: undefined } as never))).toBe("invalid_doc_content");
    expect(codeOf(() => writeSite(doc, "col_a", { site_name: 5 as never }))).toBe("invalid_doc_content");
    expect(codeOf(() => writeSite(doc, "col_a", { cost_centres: { alice: 1 as never } }))).toBe("invalid_doc_content");
    expect(codeOf(() => siteRootName("col a"))).toBe("invalid_doc_content");
    expect(Y.encodeStateVector(doc)).toEqual(new Uint8Array([0]));
    expect(readContractDoc(doc)).toEqual({ terms: {}, balance: null, sites: {} });
  });
});

describe("the wire format is y-protocols sync messages", () => {
  it("a request is SyncStep1 (type 0) then Update (type 2); an answer is SyncStep2 (type 1) then SyncStep1", () => {
    const sv = new Uint8Array([1, 7, 3]);
    const update = new Uint8Array([0, 0]);
    expect(encodeSyncRequest({ stateVector: sv, update })).toEqual(new Uint8Array([0, 3, 1, 7, 3, 2, 2, 0, 0]));
    expect(encodeSyncRequest({ stateVector: sv, update: null })).toEqual(new Uint8Array([0, 3, 1, 7, 3]));
    expect(decodeSyncRequest(new Uint8Array([0, 3, 1, 7, 3, 1, 2, 0, 0]))).toEqual({ stateVector: sv, update }); // SyncStep2 as the update
    expect(encodeSyncAnswer({ update, stateVector: sv })).toEqual(new Uint8Array([1, 2, 0, 0, 0, 3, 1, 7, 3]));
    expect(decodeSyncAnswer(new Uint8Array([1, 2, 0, 0, 0, 3, 1, 7, 3]))).toEqual({ update, stateVector: sv });
    for (const body of [[2, 2, 0, 0], [0, 3, 1, 7, 3, 0, 1, 0], [0, 3, 1, 7, 3, 2, 2, 0, 0, 2, 2, 0, 0], [0, 9, 1]]) {
      expect(codeOf(() => decodeSyncRequest(new Uint8Array(body)))).toBe("malformed_doc_message");
    }
    expect(codeOf(() => decodeSyncAnswer(new Uint8Array([0, 3, 1, 7, 3])))).toBe("malformed_doc_message");
  });
});
