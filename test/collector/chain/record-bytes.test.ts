// The collector's fast canonical bytes equal shared/protocol's RFC 8785 ones for every value a
// record can hold: strings (any UTF-16, keys that sort differently by code unit and by code point,
// "__proto__"), safe integers, booleans, nested objects and arrays, absent optional fields.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChainRecordEncoder, canonicalRecordBytes, canonicalRecordJson } from "../../../collector/chain/record-bytes.ts";
import { canonicalBytes, canonicalJson } from "../../../shared/protocol/canonical.ts";
import { nextRecord } from "../../../shared/protocol/index.ts";

const key = fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "a", "b", "é", "\u{1F600}", "\uFFFF", "10", "2", ""));
const leaf = fc.oneof(fc.string({ unit: "grapheme" }), fc.string(), fc.maxSafeInteger(), fc.integer(), fc.boolean());
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.dictionary(key, fc.option(tie("value"), { nil: undefined }), { maxKeys: 8 }),
})).object;

describe("canonical record bytes", () => {
  it("equal shared/protocol's canonical bytes for any record-shaped value", () => {
    fc.assert(fc.property(json, (value) => {
      expect(canonicalRecordJson(value)).toBe(canonicalJson(value));
      expect(Buffer.from(canonicalRecordBytes(value)).equals(Buffer.from(canonicalBytes(value)))).toBe(true);
    }), { numRuns: 2000 });
  });

  it("keep a __proto__ key as a key, in its sorted place", () => {
    const value = JSON.parse('{"z":1,"__proto__":{"b":2,"a":1},"A":true}') as unknown;
    expect(canonicalRecordJson(value)).toBe('{"A":true,"__proto__":{"a":1,"b":2},"z":1}');
    expect(canonicalRecordJson(value)).toBe(canonicalJson(value));
  });

  it("sort a usage record's keys", () => {
    const record = { v: 1, seq: 2, kind: "usage", data: { source: "s", daemon: "d", feature: "f", user: "ü", host: "h", session: "x", start: 0, end: 1000, count: 1, final: true } };
    expect(canonicalRecordJson(record)).toBe('{"data":{"count":1,"daemon":"d","end":1000,"feature":"f","final":true,"host":"h","session":"x","source":"s","start":0,"user":"ü"},"kind":"usage","seq":2,"v":1}');
  });

  it("stay canonical when more shapes come than are remembered, and when one comes back changed", () => {
    // Keys are sorted once per shape (insertion-ordered key list): 40 shapes cycle through the
    // remembered ones; the same keys in another insertion order, or one more key, are other shapes.
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 40; n++) {
        const keys = Array.from({ length: 1 + (n % 7) }, (_, i) => `k${(n * 7 + i * 13) % 50}`);
        const forward = Object.fromEntries(keys.map((k, i) => [k, i]));
        const backward = Object.fromEntries([...keys].reverse().map((k, i) => [k, { [k]: i, a: [round] }]));
        for (const value of [forward, backward, { ...forward, extra: "x" }, { ...forward, "7": 1 }]) {
          expect(canonicalRecordJson(value)).toBe(canonicalJson(value));
        }
      }
    }
  });

  it("of a chained record, written without the record, equal the canonical bytes of the record nextRecord makes", () => {
    const kind = fc.oneof(fc.constantFrom("usage", "denial", "heartbeat"), fc.string());
    fc.assert(fc.property(fc.string(), fc.maxSafeInteger(), fc.string(), fc.maxSafeInteger(), kind, json, fc.nat(400), (collectorId, seq, prev, ts, k, data, size) => {
      const body = { kind: k, data };
      const record = nextRecord(collectorId, { seq: seq - 1, hash: prev }, ts, body as never);
      expect(encoded(new ChainRecordEncoder(collectorId), size, seq, prev, ts, body)).toBe(canonicalJson(record));
    }), { numRuns: 2000 });
    // Values JSON leaves out: an absent optional field, no data at all; a kind other than the last one's.
    const encoder = new ChainRecordEncoder("c");
    const usage = { kind: "usage", data: { source: "s", version: undefined, user: "u", nested: { b: undefined, a: [1, { z: 1, y: undefined }] } } };
    for (const body of [usage, { kind: "heartbeat", data: undefined }, { kind: "denial", data: { ü: "é" } }, usage]) {
      expect(encoded(encoder, 0, 7, "h", 9, body)).toBe(canonicalJson(nextRecord("c", { seq: 6, hash: "h" }, 9, body as never)));
    }
  });
});

/** What the encoder writes at byte 3 of a buffer of `size` bytes — or, when that is too small (it
 *  writes nothing then), of one as big as it asked for. */
function encoded(encoder: ChainRecordEncoder, size: number, seq: number, prev: string, ts: number, body: { kind: string; data: unknown }): string {
  let out = Buffer.alloc(3 + size);
  let end = encoder.write(out, 3, seq, prev, ts, body);
  if (end < 0) {
    expect(out.equals(Buffer.alloc(3 + size))).toBe(true);
    out = Buffer.alloc(3 + encoder.need);
    end = encoder.write(out, 3, seq, prev, ts, body);
  }
  return out.toString("utf8", 3, end);
}
