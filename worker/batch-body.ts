// Reads a batch body (optionally `Content-Encoding: gzip`) with a hard cap on *decoded* bytes.
// The body is pulled a chunk at a time and gunzipped in small slices (fflate, synchronous), and
// reading stops as soon as the cap is passed, so a gzip bomb costs bounded work. The runtime's
// DecompressionStream is not used: it takes its whole input without back-pressure (workerd
// decoded all of a 1 GiB bomb, ~10 s of CPU, before the reader saw the cap).
import { Gunzip } from "fflate";
import { EdgeError } from "./errors.ts";

/** Compressed bytes gunzipped per step: DEFLATE expands at most ≈ 1,032×, so one step decodes at
 *  most ≈ 1 MiB past the cap before the cap is checked. */
const GZIP_SLICE = 1024;

export async function readBatchText(request: Request, maxBytes: number): Promise<string> {
  const encoding = (request.headers.get("Content-Encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") throw new EdgeError("malformed", `unsupported Content-Encoding ${encoding} (use gzip or none)`);
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) throw new EdgeError("malformed", "empty body");
  const bytes = await readCapped(request.body, maxBytes, encoding === "gzip");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new EdgeError("malformed", "body is not valid UTF-8");
  }
}

/** The body's bytes, gunzipped when `gzip`; more than `maxBytes` on the wire or decoded is refused
 *  as soon as it is seen, with the rest of the body left unread. */
export async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number, gzip: boolean): Promise<Uint8Array> {
  const decoded: Uint8Array[] = [];
  let total = 0;
  const keep = (chunk: Uint8Array) => {
    total += chunk.byteLength;
    if (total <= maxBytes) decoded.push(chunk);
  };
  const gunzip = gzip ? new Gunzip(keep) : null;
  const reader = body.getReader();
  let wire = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      wire += value.byteLength;
      if (wire > maxBytes) throw tooLarge(maxBytes);
      if (!gunzip) keep(value);
      else for (let at = 0; at < value.byteLength && total <= maxBytes; at += GZIP_SLICE) gunzip.push(value.subarray(at, at + GZIP_SLICE));
      if (total > maxBytes) throw tooLarge(maxBytes);
    }
    gunzip?.push(new Uint8Array(0), true);
    if (total > maxBytes) throw tooLarge(maxBytes);
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof EdgeError) throw error;
    throw new EdgeError("malformed", `body could not be decoded: ${error instanceof Error ? error.message : String(error)}`);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of decoded) { bytes.set(chunk, offset); offset += chunk.byteLength; }
  return bytes;
}

function tooLarge(maxBytes: number): EdgeError {
  return new EdgeError("batch_too_large", `a batch is at most ${maxBytes} bytes after decoding`);
}
