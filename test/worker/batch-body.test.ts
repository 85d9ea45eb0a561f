// The batch body reader (worker/batch-body.ts), inside workerd: exact bytes out for any chunking of
// a gzip body, the cap on decoded bytes, and bounded work on a gzip bomb — measured as how much of
// the body the reader pulls before it refuses, never as time.
import { describe, it, expect } from "vitest";
import { gzipSync } from "node:zlib";
import { readBatchText, readCapped } from "../../worker/batch-body.ts";
import { EdgeError } from "../../worker/errors.ts";

/** A pull-only stream of `bytes` in `chunk`-byte pieces that counts what the reader took. */
function counted(bytes: Uint8Array, chunk: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => Math.min(at, bytes.byteLength) };
}

/** gzip of `mib` MiB of zeros, compressed a MiB at a time (never held decoded: workerd caps memory). */
async function gzipZeros(mib: number): Promise<Uint8Array> {
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  const compressed = new Response(stream.readable).arrayBuffer();
  const zeros = new Uint8Array(1024 * 1024);
  for (let i = 0; i < mib; i++) await writer.write(zeros);
  await writer.close();
  return new Uint8Array(await compressed);
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof EdgeError) return error.code;
    throw error;
  }
  return "accepted";
}

/** Text that compresses like a batch does (repeated keys, varying numbers). */
function batchLike(bytes: number): string {
  let text = "";
  for (let i = 0; text.length < bytes; i++) text += `{"seq":${i},"feature":"F${i % 37}","user":"user ${i % 101} é","start":${1_700_000_000_000 + i * 997}},`;
  return text.slice(0, bytes);
}

describe("batch body", () => {
  it("a gzip body decodes to exactly its text, whatever the chunking, in one member or several", async () => {
    const text = batchLike(300_000);
    const utf8 = new TextEncoder().encode(text);
    const half = utf8.byteLength >> 1;
    const members = new Uint8Array([...gzipSync(utf8.subarray(0, half)), ...gzipSync(utf8.subarray(half))]);
    for (const body of [gzipSync(utf8), members]) {
      for (const chunk of [7, 777, 4096, 1 << 20]) {
        const out = await readCapped(counted(body, chunk).stream, 1 << 20, true);
        expect(new TextDecoder().decode(out)).toBe(text);
      }
    }
  });

  it("the cap counts decoded bytes: exactly the cap is read, one byte more is batch_too_large", async () => {
    const cap = 50_000;
    const utf8 = new TextEncoder().encode(batchLike(2 * cap));
    const exact = gzipSync(utf8.subarray(0, cap));
    expect((await readCapped(counted(exact, 1000).stream, cap, true)).byteLength).toBe(cap);
    const over = gzipSync(utf8.subarray(0, cap + 1));
    expect(await refusal(readCapped(counted(over, 1000).stream, cap, true))).toBe("batch_too_large");
    expect(await refusal(readCapped(counted(utf8.subarray(0, cap + 1), 1000).stream, cap, false))).toBe("batch_too_large");
  });

  it("a gzip bomb is refused after reading a small part of it (bounded work, not the whole body decoded)", async () => {
    const bomb = await gzipZeros(256); // 256 MiB of zeros as ~250 KiB
    expect(bomb.byteLength).toBeGreaterThan(200 * 1024);
    const { stream, pulled } = counted(bomb, 4096);
    expect(await refusal(readCapped(stream, 4 * 1024 * 1024, true))).toBe("batch_too_large");
    // 4 MiB of zeros deflate to ≈ 4 KiB: the reader stops within a few chunks of that.
    expect(pulled()).toBeLessThanOrEqual(32 * 1024);
  });

  // gzip's CRC is not what protects a batch (its signature and hash chain do, and a damaged body
  // fails the strict JSON reader first), so only the framing is checked here.
  it("gzip cut short or followed by garbage is malformed; a plain body over the cap on the wire is batch_too_large", async () => {
    const body = gzipSync(new TextEncoder().encode(batchLike(20_000)));
    expect(await refusal(readCapped(counted(body.subarray(0, body.byteLength - 9), 512).stream, 1 << 20, true))).toBe("malformed");
    expect(await refusal(readCapped(counted(body.subarray(0, body.byteLength >> 1), 512).stream, 1 << 20, true))).toBe("malformed");
    expect(await refusal(readCapped(counted(new Uint8Array([...body, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 512).stream, 1 << 20, true))).toBe("malformed");
    const request = new Request("https://edge.test/", { method: "POST", body: "x".repeat(2000), headers: { "Content-Type": "application/json" } });
    expect(await refusal(readBatchText(request, 1000))).toBe("batch_too_large");
  });
});
