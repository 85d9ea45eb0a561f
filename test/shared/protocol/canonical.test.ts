import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalJson, hashCanonical, parseStrictJson, sha256Hex } from "../../../shared/protocol/index.ts";

describe("canonical bytes (RFC 8785)", () => {
  it("serialises the RFC 8785 §3.2.2 example exactly", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts keys by UTF-16 code units (RFC 8785 §3.2.3)", () => {
    const input = { "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis" };
    // Read the order from the text: Object.keys would put the integer-like key "1" first anyway.
    const keys = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(keys).toEqual(["\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"]);
  });

  it("hashes are lower-case hex SHA-256 of the canonical bytes", () => {
    expect(sha256Hex(new TextEncoder().encode("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const record = { v: 1, seq: 2, kind: "usage", data: { user: "José Juan Galera", count: 1 } };
    const expected = createHash("sha256").update('{"data":{"count":1,"user":"José Juan Galera"},"kind":"usage","seq":2,"v":1}', "utf8").digest("hex");
    expect(hashCanonical(record)).toBe(expected);
  });

  it("re-encoded JSON (whitespace, key order, escapes) hashes the same", () => {
    const a = parseStrictJson('{"b":1,"a":"\\u00e9"}');
    const b = parseStrictJson('{ "a" : "é" ,\n "b" : 1 }');
    expect(hashCanonical(a)).toBe(hashCanonical(b));
  });
});

describe("strict JSON for signed data", () => {
  it.each([
    ['{"a":1.5}', "floats"],
    ['{"a":1e3}', "floats"],
    ['{"a":1.0}', "floats"],
    ['{"a":9007199254740992}', "unsafe integer"],
    ['{"a":-0}', "negative zero"],
    ['{"a":1,"a":2}', "duplicate key"],
    ['{"a":1} x', "trailing data"],
    ['{"a":"\\ud800"}', "lone surrogate"],
    ['{"a":01}', "expected ','"],
    ["[1,]", "unexpected token"],
    ['{"a":1,"\\u0061":2}', "duplicate key"],
    ['{"__proto__":1,"__proto__":2}', "duplicate key"],
    ['{"a":-}', "invalid number"],
    ['{"a":-01}', "negative zero"],
    ['{"a":12345678901234567890123456789012345678901234567890}', "unsafe integer"],
    ['{"a":"x\u0001"}', "control character"],
  ])("rejects %s (%s)", (text, reason) => {
    expect(() => parseStrictJson(text)).toThrow(reason);
  });

  it("rejects nesting past the depth limit with bounded work", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(() => parseStrictJson(deep, { maxDepth: 32 })).toThrow("nesting too deep");
  });

  it("keeps a __proto__ key as data, never as the prototype", () => {
    const value = parseStrictJson('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("accepts what JSON.parse accepts when it has only integers and unique keys", () => {
    const text = '{"records":[{"seq":1,"ok":true,"n":null,"s":"a\\"b","neg":-42}],"max":9007199254740991}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it("reads any integer-only JSON, escaped strings included, as JSON.parse does", () => {
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }),
        fc.array(tie("value")), fc.dictionary(fc.string({ unit: "binary" }), tie("value"))),
    }));
    fc.assert(fc.property(value, (v) => {
      const text = JSON.stringify(v);
      expect(parseStrictJson(text, { maxDepth: 64 })).toEqual(JSON.parse(text));
    }), { numRuns: 300 });
  });
});
