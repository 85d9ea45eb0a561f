// The enforcement block in a license manager's options file (collector/enforce/options-block.ts):
// the site's own bytes are kept exactly, whatever their line endings or encoding.
import { describe, expect, it } from "vitest";
import { BLOCK_BEGIN, BLOCK_END, currentBlock, exclusionLines, withBlock } from "../../../collector/enforce/options-block.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString("latin1"));

const SITE_LF = "# site options\nGROUP eng ada bob\nRESERVE 1 MATLAB USER ada\n\nMAX 4 Simulink GROUP eng\n";
const SITE_CRLF = SITE_LF.replace(/\n/g, "\r\n");

describe("exclusion lines", () => {
  it("FlexLM and RLM syntax, one line per feature, sorted and deduplicated", () => {
    expect(exclusionLines("flexlm", ["Simulink", "MATLAB", "MATLAB"])).toEqual(["EXCLUDE MATLAB INTERNET *.*.*.*", "EXCLUDE Simulink INTERNET *.*.*.*"]);
    expect(exclusionLines("rlm", ["solver"])).toEqual(["EXCLUDE solver internet *.*.*.*"]);
  });

  it("refuses a name that would break out of its token (space, newline, #, quote)", () => {
    for (const bad of ["two words", "a\nEXCLUDEALL", "x#y", "\"q\"", "", "a<b"]) expect(() => exclusionLines("flexlm", [bad])).toThrow(RangeError);
  });
});

describe("the block in the options file", () => {
  it("is appended after the site's lines, which stay byte for byte", () => {
    const next = text(withBlock(bytes(SITE_LF), exclusionLines("flexlm", ["MATLAB"])));
    expect(next).toBe(`${SITE_LF}${BLOCK_BEGIN}\nEXCLUDE MATLAB INTERNET *.*.*.*\n${BLOCK_END}\n`);
    expect(next!.startsWith(SITE_LF)).toBe(true);
  });

  it("takes the file's CRLF line endings, and removing it gives back the exact original bytes", () => {
    const blocked = withBlock(bytes(SITE_CRLF), exclusionLines("flexlm", ["MATLAB", "Simulink"]))!;
    expect(text(blocked)).toBe(`${SITE_CRLF}${BLOCK_BEGIN}\r\nEXCLUDE MATLAB INTERNET *.*.*.*\r\nEXCLUDE Simulink INTERNET *.*.*.*\r\n${BLOCK_END}\r\n`);
    expect(currentBlock(blocked)).toEqual(["EXCLUDE MATLAB INTERNET *.*.*.*", "EXCLUDE Simulink INTERNET *.*.*.*"]);
    expect(text(withBlock(blocked, []))).toBe(SITE_CRLF);
  });

  it("keeps bytes that are not UTF-8 (a Latin-1 comment) exactly", () => {
    const site = new Uint8Array([...Buffer.from("# caf"), 0xe9, ...Buffer.from(" options\r\nGROUP g a\r\n")]);
    const blocked = withBlock(site, exclusionLines("rlm", ["solver"]))!;
    expect(Buffer.from(blocked.subarray(0, site.length)).equals(Buffer.from(site))).toBe(true);
    expect(Buffer.from(withBlock(blocked, [])!).equals(Buffer.from(site))).toBe(true);
  });

  it("replaces an existing block where it stands, the lines around it untouched", () => {
    const before = "GROUP eng ada\n";
    const after = "# after the block\nMAX 2 X USER bob\n";
    const old = `${before}${BLOCK_BEGIN}\nEXCLUDE OLD INTERNET *.*.*.*\n${BLOCK_END}\n${after}`;
    expect(text(withBlock(bytes(old), exclusionLines("flexlm", ["NEW"])))).toBe(`${before}${BLOCK_BEGIN}\nEXCLUDE NEW INTERNET *.*.*.*\n${BLOCK_END}\n${after}`);
    expect(text(withBlock(bytes(old), []))).toBe(before + after);
  });

  it("is a no-op (null) when the block is already right, or absent and not wanted", () => {
    const blocked = withBlock(bytes(SITE_CRLF), exclusionLines("flexlm", ["MATLAB"]))!;
    expect(withBlock(blocked, exclusionLines("flexlm", ["MATLAB"]))).toBeNull();
    expect(withBlock(bytes(SITE_LF), [])).toBeNull();
    expect(withBlock(bytes(""), [])).toBeNull();
  });

  it("adds a line break before the block when the file's last line has none (the one byte ever added)", () => {
    const site = "GROUP eng ada";
    const blocked = text(withBlock(bytes(site), exclusionLines("flexlm", ["MATLAB"])))!;
    expect(blocked).toBe(`${site}\n${BLOCK_BEGIN}\nEXCLUDE MATLAB INTERNET *.*.*.*\n${BLOCK_END}\n`);
    expect(text(withBlock(bytes(blocked), []))).toBe(`${site}\n`);
    expect(text(withBlock(bytes(""), exclusionLines("flexlm", ["A"])))).toBe(`${BLOCK_BEGIN}\nEXCLUDE A INTERNET *.*.*.*\n${BLOCK_END}\n`);
  });

  it("refuses a file whose block was broken by hand (BEGIN without END), changing nothing", () => {
    const broken = bytes(`GROUP g a\n${BLOCK_BEGIN}\nEXCLUDE A INTERNET *.*.*.*\n`);
    expect(() => withBlock(broken, [])).toThrow(/no "# END tally enforcement"/);
    expect(() => currentBlock(broken)).toThrow();
  });
});
