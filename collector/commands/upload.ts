// `upload --server URL F…`: the middle of an air-gapped trip, on the connected machine (no state
// dir, no keys). Uploads an export's bundle files in chain order and writes each reply beside its
// bundle (or into --out-dir) for `import-receipt` (collector/sync/bundle-upload.ts), and tells each
// one on stderr as it is receipted (`upload: k/n FILE (seq a…b) receipted in S s`). The edge is
// reached as sync reaches it: HTTPS_PROXY / NO_PROXY, NODE_EXTRA_CA_CERTS, the same backoff
// options (--attempts per command, TALLY_JITTER_SEED) and --timeout-ms per request — 120 s by
// default, as a bundle is up to 16 MiB where a batch is 4.
// Exit 0 when every bundle is receipted; 1 at the first refusal (`batch_refused` + the edge's
// `edge_error`, e.g. `gap` + `expected_seq`), naming the files uploaded before it; 2 a file that
// is not a bundle (nothing sent); 3 the edge stayed unreachable (the files done are named).
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { CollectorError } from "../errors.ts";
import { EdgeUnreachable, withBackoff, type RetryBudget } from "../sync/backoff.ts";
import { chainOrder, readTrip, replyFileName, uploadTrip, type UploadOutcome } from "../sync/bundle-upload.ts";
import { EdgeClient, type EdgeReply } from "../sync/edge-client.ts";
import { integerOption, parseCommandOperands, requireOption, type CommandIo, type CommandResult } from "./command.ts";
import { backoffFrom, jitterFrom, syncOptions } from "./sync.ts";

export const uploadUsage = "upload --server URL [--out-dir D] [--attempts N] [--backoff-base-ms MS] [--backoff-max-ms MS] [--timeout-ms MS] [--json] F [F…]";

export async function uploadCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values, positionals: files } = parseCommandOperands(argv, { ...syncOptions, server: { type: "string" }, "out-dir": { type: "string" } }, uploadUsage);
  if (values.state !== undefined) throw new CollectorError("usage", `upload reads no state dir (it runs on the connected machine; the bundles are signed); usage: tally-collector ${uploadUsage}`);
  const server = requireOption(values.server, "server", uploadUsage);
  if (!/^https?:\/\/[^/]/.test(server)) throw new CollectorError("usage", `--server must be an http(s) URL, got ${JSON.stringify(server)}`);
  if (files.length === 0) throw new CollectorError("usage", `a bundle file is required; usage: tally-collector ${uploadUsage}`);
  const outDir = typeof values["out-dir"] === "string" ? resolve(values["out-dir"]) : undefined;
  if (outDir !== undefined && !(await stat(outDir).then((s) => s.isDirectory(), () => false))) throw new CollectorError("usage", `--out-dir ${outDir} is not a directory`);
  const backoff = backoffFrom(values);
  const random = jitterFrom(io.env);
  const timeoutMs = integerOption(values["timeout-ms"], "timeout-ms", 120_000, 1);

  const trip = await readTrip(files);
  const ordered = chainOrder(trip);
  const replyOf = (file: string) => replyFileName(file, outDir);
  const replies = ordered.map((b) => replyOf(b.file));
  const clash = replies.find((r, i) => replies.indexOf(r) !== i || trip.some((b) => b.file === r));
  if (clash) throw new CollectorError("usage", `two files would have the same reply ${clash} (or a bundle is named like a reply): give them distinct names or leave out --out-dir`);

  const client = new EdgeClient(server, { timeoutMs });
  const budget: RetryBudget = { failures: 0 };
  const retry = { policy: backoff, random, budget, onRetry: (attempt: number, delay: number, reason: string) => io.stderr.write(`edge unreachable (${reason}); attempt ${attempt + 1}/${backoff.maxAttempts} in ${delay} ms\n`) };
  const call = (op: () => Promise<EdgeReply>) => withBackoff(op, retry);
  const outcome: UploadOutcome = { uploaded: [], refused: null, not_uploaded: [] };
  let unreachable: string | null = null;
  try {
    // A trip of a long absence is tens of bundles of minutes each: each one done is told as it comes.
    await uploadTrip(client, ordered, replyOf, call, outcome, (u, ms) => {
      io.stderr.write(`upload: ${outcome.uploaded.length}/${ordered.length} ${u.file} (seq ${u.first_seq}…${u.last_seq}) receipted in ${(ms / 1000).toFixed(1)} s\n`);
    });
  } catch (e) {
    if (!(e instanceof EdgeUnreachable)) throw e;
    unreachable = `edge unreachable after ${budget.failures} attempts: ${e.reason}`;
  }
  return report(trip[0]!.collector_id, outcome, trip.filter((b) => b.first_seq === null).map((b) => b.file), unreachable);
}

function report(collectorId: string, o: UploadOutcome, empty: string[], unreachable: string | null): CommandResult {
  const replies = [...o.uploaded.map((u) => u.reply), o.refused?.reply].filter((r): r is string => typeof r === "string");
  const lines = o.uploaded.map((u) => {
    const held = u.acked_seq !== null && u.acked_seq > u.last_seq ? `the edge already held it (receipted through seq ${u.acked_seq})` : `receipted through seq ${u.acked_seq}`;
    return `uploaded ${u.file} (seq ${u.first_seq}…${u.last_seq}): ${held}; reply ${u.reply}`;
  });
  for (const f of empty) lines.push(`skipped ${f}: an empty bundle (nothing was pending at export)`);
  const done = o.uploaded.map((u) => u.file);
  const json = { collector_id: collectorId, uploaded: o.uploaded, replies, skipped_empty: empty, not_uploaded: o.not_uploaded };
  const carry = replies.length > 0 ? `carry the replies back to the site and run: tally-collector import-receipt ${replies.join(" ")}` : "";
  const uploaded = done.length > 0 ? done.join(", ") : "none";
  if (unreachable !== null) {
    const where = `uploaded: ${uploaded}; not uploaded: ${o.not_uploaded.join(", ")}`;
    return { exit: 3, json: { ok: false, error: "edge_unreachable", message: unreachable, ...json }, text: [`FAILED edge_unreachable ${unreachable}; ${where}`, ...lines, carry, "run the same upload again once the edge answers: what it holds already is a replay"].filter(Boolean).join("\n") + "\n" };
  }
  const before = `uploaded before it: ${uploaded}${o.not_uploaded.length > 0 ? `; not tried: ${o.not_uploaded.join(", ")}` : ""}`;
  if (o.refused) {
    const r = o.refused;
    const what = `${r.file}: the edge refused ${r.batch_index !== undefined ? `batch ${r.batch_index}` : "the upload"}: ${r.error}: ${r.message}`;
    const hint = r.error === "gap" && r.expected_seq !== undefined
      ? ` — the bundle holding seq ${r.expected_seq} is not among these files and the edge does not hold it: upload it first, then this one again`
      : "";
    const edge_error = { error: r.error, message: r.message, status: r.status, file: r.file, ...(r.batch_index !== undefined ? { batch_index: r.batch_index } : {}), ...(r.expected_seq !== undefined ? { expected_seq: r.expected_seq } : {}), ...(r.seq !== undefined ? { seq: r.seq } : {}) };
    return {
      exit: 1,
      json: { ok: false, error: "batch_refused", edge_error: r.error, ...(r.expected_seq !== undefined ? { expected_seq: r.expected_seq } : {}), refused: edge_error, refused_reply: r.reply, ...json },
      text: [`FAILED batch_refused ${what}${hint}; ${before}`, ...lines, r.reply ? `its reply (the receipts before the refused batch) is ${r.reply}` : "", carry].filter(Boolean).join("\n") + "\n",
    };
  }
  const text = o.uploaded.length === 0 ? "nothing to upload: every bundle is empty\n" : [...lines, carry].join("\n") + "\n";
  return { exit: 0, json: { ok: true, ...json }, text };
}
