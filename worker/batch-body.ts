// Reads a batch body (optionally `Content-Encoding: gzip`) with a hard cap on *decoded* bytes.
// Decoding is streamed and stops as soon as the cap is passed, so a gzip bomb costs bounded work.
import { EdgeError } from "./errors.ts";

export async function readBatchText(request: Request, maxBytes: number): Promise<string> {
  const encoding = (request.headers.get("Content-Encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") throw new EdgeError("malformed", `unsupported Content-Encoding ${encoding} (use gzip or none)`);
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) throw new EdgeError("malformed", "empty body");

  const stream = encoding === "gzip" ? request.body.pipeThrough(new DecompressionStream("gzip")) : request.body;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof EdgeError) throw error;
    throw new EdgeError("malformed", `body could not be decoded: ${error instanceof Error ? error.message : String(error)}`);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) { bytes.set(chunk, offset); offset += chunk.byteLength; }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new EdgeError("malformed", "body is not valid UTF-8");
  }
}

function tooLarge(maxBytes: number): EdgeError {
  return new EdgeError("batch_too_large", `a batch is at most ${maxBytes} bytes after decoding`);
}
