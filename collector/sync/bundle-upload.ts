// `upload`'s work, on the connected machine of an air-gapped trip (DESIGN.md §4): no state dir, no
// site keys — the bundles are signed. Reads the trip's bundle files, puts them in chain order (by
// first seq: the order `export` wrote them, whatever order the command line gave), POSTs each
// unchanged (gzip on the wire, as sync sends batches) to the edge's bundle route one after the
// other — no reply is needed in between — and writes each reply, the exact body the edge answered,
// which `import-receipt` takes. Stops at the first refusal; its reply is written too (it holds the
// receipts of the batches before the refused one). Safe to rerun: a bundle the edge already holds
// is a replay, answered with receipts of the edge's current head, and its reply is written again.
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { bundleSchema, MAX_BUNDLE_BYTES } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { replaceFile } from "../state/json-file.ts";
import type { EdgeClient, EdgeReply } from "./edge-client.ts";

export interface TripBundle {
  file: string;
  collector_id: string;
  batches: number;
  /** null for an empty bundle (an export with nothing pending): there is nothing to upload. */
  first_seq: number | null;
  last_seq: number | null;
}

/** Where the reply to `file` goes: beside it, or in `outDir`, as `reply-<name>` (bundle-2.json →
 *  reply-bundle-2.json): a trip's glob (`bundle*.json`) never picks up its replies, on a rerun or in `verify --bundle`. */
export function replyFileName(file: string, outDir?: string): string {
  return join(outDir ?? dirname(file), `reply-${basename(file)}`);
}

/** Reads every file as a bundle of one collector; refuses (bad_input, nothing sent) a file that is
 *  not one. Only what orders them is kept: a trip of 22 full bundles is 350 MB, read again to send. */
export async function readTrip(files: string[]): Promise<TripBundle[]> {
  const trip: TripBundle[] = [];
  for (const file of [...new Set(files.map((f) => resolve(f)))]) {
    let text: string;
    try {
      if ((await stat(file)).size > MAX_BUNDLE_BYTES) throw new CollectorError("bad_input", `${file}: larger than a bundle (${MAX_BUNDLE_BYTES} bytes): not an export's file`, { file });
      text = await readFile(file, "utf8");
    } catch (e) {
      if (e instanceof CollectorError) throw e;
      throw new CollectorError("bad_input", `${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, { file });
    }
    trip.push(bundleOf(file, text));
    if (trip[0]!.collector_id !== trip.at(-1)!.collector_id) {
      throw new CollectorError("bad_input", `${trip[0]!.file} is a bundle of ${trip[0]!.collector_id}, ${file} of ${trip.at(-1)!.collector_id}: upload one site's bundles at a time`, { file });
    }
  }
  return trip;
}

function bundleOf(file: string, text: string): TripBundle {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CollectorError("bad_input", `${file}: not JSON, so not a bundle`, { file });
  }
  const shape = bundleSchema.safeParse(body);
  if (!shape.success) throw new CollectorError("bad_input", `${file}: not a tally-bundle/v1 file (${shape.error.issues[0]?.path.join(".")} ${shape.error.issues[0]?.message})`, { file });
  const batches = shape.data.batches as { records?: { seq?: unknown }[] }[];
  const seqOf = (batch: { records?: { seq?: unknown }[] } | undefined, at: "first" | "last") => {
    const seq = at === "first" ? batch?.records?.[0]?.seq : batch?.records?.at(-1)?.seq;
    if (!Number.isSafeInteger(seq)) throw new CollectorError("bad_input", `${file}: a batch without numbered records: not a bundle written by export`, { file });
    return seq as number;
  };
  return {
    file, collector_id: shape.data.collector_id, batches: batches.length,
    first_seq: batches.length === 0 ? null : seqOf(batches[0], "first"),
    last_seq: batches.length === 0 ? null : seqOf(batches.at(-1), "last"),
  };
}

/** Chain order: by first seq, then last (overlapping files from a re-export are replays at the edge); empty bundles left out. */
export function chainOrder(trip: TripBundle[]): TripBundle[] {
  return trip.filter((b) => b.first_seq !== null)
    .sort((a, b) => a.first_seq! - b.first_seq! || a.last_seq! - b.last_seq! || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

export interface UploadedBundle {
  file: string;
  reply: string | null;
  status: number;
  first_seq: number;
  last_seq: number;
  /** The last receipt's acked_seq: past last_seq when the edge held these records already. */
  acked_seq: number | null;
}

/** The edge's refusal: of a batch (a reply was written) or of the upload itself (400, 403, 413: no reply). */
export interface UploadRefusal { file: string; status: number; error: string; message: string; reply: string | null; batch_index?: number; expected_seq?: number; seq?: number }

/** `not_uploaded`: the files after the refused one, or from the one the edge did not answer. */
export interface UploadOutcome { uploaded: UploadedBundle[]; refused: UploadRefusal | null; not_uploaded: string[] }

/**
 * Uploads `ordered` one after the other and writes each reply (`replyOf`). `call` wraps each
 * request (retries while the edge is unreachable); an EdgeUnreachable it lets through stops the
 * upload with the files done so far in `outcome`. `onUploaded`: each receipted bundle, with the ms
 * from reading it to its reply written.
 */
export async function uploadTrip(client: EdgeClient, ordered: TripBundle[], replyOf: (file: string) => string,
  call: (op: () => Promise<EdgeReply>) => Promise<EdgeReply>, outcome: UploadOutcome = { uploaded: [], refused: null, not_uploaded: [] },
  onUploaded: (done: UploadedBundle, ms: number) => void = () => {}): Promise<UploadOutcome> {
  outcome.not_uploaded = ordered.map((b) => b.file);
  for (const b of ordered) {
    const started = performance.now();
    const text = await readFile(b.file).catch((e: NodeJS.ErrnoException) => {
      throw new CollectorError("bad_input", `${b.file}: unreadable since it was checked (${e.code ?? e.message}); uploaded before it: ${outcome.uploaded.map((u) => u.file).join(", ") || "none"}`, { file: b.file });
    });
    const gzipped = gzipSync(text);
    const answer = await call(() => client.postBundle(b.collector_id, gzipped));
    outcome.not_uploaded.shift();
    const body = (typeof answer.body === "object" && answer.body !== null ? answer.body : {}) as Record<string, unknown>;
    // A reply is what the DO answered, `{receipts, edge_keys, …}`; an ordinary error body (the
    // edge refused the upload itself) or a page from something in between is not one.
    const isReply = Array.isArray(body.receipts);
    const reply = isReply ? replyOf(b.file) : null;
    if (reply) await replaceFile(reply, answer.text);
    if (answer.status === 200 && isReply) {
      const receipts = body.receipts as { receipt?: { acked_seq?: number } }[];
      outcome.uploaded.push({ file: b.file, reply, status: 200, first_seq: b.first_seq!, last_seq: b.last_seq!, acked_seq: receipts.at(-1)?.receipt?.acked_seq ?? null });
      onUploaded(outcome.uploaded.at(-1)!, performance.now() - started);
      continue;
    }
    const code = typeof body.error === "string" ? body.error : `http_${answer.status}`;
    const message = typeof body.message === "string" ? body.message : `the answer is not the edge's (HTTP ${answer.status}): ${answer.text.slice(0, 200).replace(/\s+/g, " ")}`;
    outcome.refused = {
      file: b.file, status: answer.status, error: code, message, reply,
      ...Object.fromEntries((["batch_index", "expected_seq", "seq"] as const).filter((k) => typeof body[k] === "number").map((k) => [k, body[k]])),
    };
    break;
  }
  return outcome;
}
