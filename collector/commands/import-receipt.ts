// `import-receipt F…`: the air-gapped sync, inbound (DESIGN.md §4, §9). Each F is the edge's reply
// to one uploaded bundle (`{receipts, error?}`) of the latest export: all of one trip's replies in
// one call, in any order, or one at a time. Every file is read and checked as a reply first (a
// file that is not one changes nothing); then the replies are imported in chain order, every
// receipt verified like online sync does before the log is acknowledged and exactly the
// receipted segments are freed. A reply missing from the set breaks none of the others. Edge
// keys learned from a reply's endorsements (the edge rotated its key since this site last heard
// from it) are named in the report, and so are keys its verified revocations drop (the edge
// revoked a leaked key).
// Exit 0 when every receipt was imported and no refusal by the edge leaves a record of the export
// unreceipted; 1 when the edge refused a batch still pending (the receipts before it are
// imported) or a receipt is refused (the replies before it stand).
import { readFile } from "node:fs/promises";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { loadExportRecord } from "../sync/bundle-export.ts";
import { checkReply, importReceipts, replyStart, type BundleReply, type ImportReport } from "../sync/receipt-import.ts";
import { parseCommandOperands, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const importReceiptUsage = "import-receipt F [F…] [--state DIR] [--json]";

export async function importReceiptCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values, positionals: files } = parseCommandOperands(argv, {}, importReceiptUsage);
  if (files.length === 0) throw new CollectorError("usage", `a reply file is required; usage: tally-collector ${importReceiptUsage}`);
  const paths = stateFrom(values, io.env);
  const exported = await loadExportRecord(paths);
  if (!exported) throw new CollectorError("bad_input", "no export to match this reply with: run export first");
  const replies: { file: string; reply: BundleReply }[] = [];
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      throw new CollectorError("bad_input", `${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "not JSON"}`, { file });
    }
    try {
      replies.push({ file, reply: checkReply(raw, exported) });
    } catch (e) {
      if (e instanceof CollectorError) throw new CollectorError(e.code, `${file}: ${e.message}`, { ...e.details, file });
      throw e;
    }
  }
  // In chain order, so each receipt is checked against the records while the log still holds
  // them; replies without a receipt (the edge refused their first batch) last.
  const ordered = replies.map((r) => ({ ...r, start: replyStart(r.reply) })).sort((a, b) => a.start - b.start);

  const site = await openSite(paths);
  try {
    const done: ({ file: string } & ImportReport)[] = [];
    for (const { file, reply } of ordered) {
      try {
        done.push({ file, ...await importReceipts(site, reply, exported, Date.now()) });
      } catch (e) {
        if (!(e instanceof CollectorError)) throw e;
        const before = done.length > 0 ? `; the replies before it are imported (${done.map((d) => d.file).join(", ")})` : "";
        throw new CollectorError(e.code, `${files.length > 1 ? `${file}: ` : ""}${e.message}${before}`, { ...e.details, file, imported_files: done.map((d) => d.file) });
      }
    }
    return report(done, site.log.ackedSeq(), site.log.lastSeq(), exported.batches.at(-1)?.last_seq ?? 0);
  } finally {
    await site.close();
  }
}

function report(done: ({ file: string } & ImportReport)[], ackedSeq: number, lastSeq: number, exportedThrough: number): CommandResult {
  const sum = (f: (d: ImportReport) => number) => done.reduce((n, d) => n + f(d), 0);
  const learned = [...new Set(done.flatMap((d) => d.learned_edge_keys))];
  const revoked = [...new Set(done.flatMap((d) => d.revoked_edge_keys))];
  const dropped = [...new Set(done.flatMap((d) => d.dropped_edge_keys ?? []))];
  const pending = lastSeq - ackedSeq;
  const refusals = done.filter((d) => d.edge_error !== null);
  // A refusal matters while a record of the export is unreceipted: once another reply (the same
  // bundle uploaded again, in order) receipted them all, it is only reported.
  const failing = ackedSeq < exportedThrough ? refusals : [];
  const totals = {
    imported: sum((d) => d.imported), already_receipted: sum((d) => d.already_receipted), acked_seq: ackedSeq, last_seq: lastSeq,
    released_segments: sum((d) => d.released_segments), learned_edge_keys: learned, revoked_edge_keys: revoked,
    ...(dropped.length > 0 ? { dropped_edge_keys: dropped } : {}), edge_error: refusals[0]?.edge_error ?? null,
  };
  const perFile = done.map((d) => ({ file: d.file, imported: d.imported, already_receipted: d.already_receipted, acked_seq: d.acked_seq, edge_error: d.edge_error }));
  const learnedLine = learned.length > 0 ? `\ntrusts edge key ${learned.join(", ")} from now on: endorsed, through the edge's rotations, by a key this site already trusted` : "";
  const revokedLine = (revoked.length > 0 ? `\nno longer trusts edge key ${revoked.join(", ")}: the edge revoked it (it leaked)` : "")
    + (dropped.length > 0 ? `\nno longer trusts edge key ${dropped.join(", ")} either: it was learned through a revoked key` : "");
  const head = `imported ${totals.imported} receipts (${totals.already_receipted} already receipted)${done.length > 1 ? ` from ${done.length} replies` : ""}; receipted through seq ${ackedSeq}, ${pending} pending, ${totals.released_segments} segments freed${learnedLine}${revokedLine}`;
  const refusalLines = refusals.map((d) => {
    const e = d.edge_error!;
    const what = `${done.length > 1 ? `${d.file}: ` : ""}the edge refused batch ${e.batch_index ?? "?"}: ${e.error}: ${e.message}`;
    return failing.includes(d) ? `FAILED batch_refused ${what}` : `(${what} — since receipted by another reply)`;
  });
  const json = { ...totals, pending, ...(done.length > 1 ? { replies: perFile } : {}) };
  if (failing.length > 0) {
    return { exit: 1, json: { ...json, ok: false, error: "batch_refused", edge_error: failing[0]!.edge_error }, text: `${refusalLines.join("\n")}\n${head}\n` };
  }
  return { exit: 0, json: { ok: true, ...json }, text: [head, ...refusalLines].join("\n") + "\n" };
}
