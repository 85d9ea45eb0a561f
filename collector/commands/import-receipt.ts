// `import-receipt F`: the air-gapped sync, inbound (DESIGN.md §4, §9). F is the edge's reply to
// the uploaded bundle (`{receipts, error?}`). Every receipt is verified like online sync does
// before the log is acknowledged and exactly the receipted segments are freed. Edge keys learned
// from the reply's endorsements (the edge rotated its key since this site last heard from it) are
// named in the report, and so are keys its verified revocations drop (the edge revoked a leaked key).
// Exit 0 when every receipt was imported and the edge refused nothing; 1 when it refused a
// batch (the receipts before it are imported) or a receipt is refused.
import { readFile } from "node:fs/promises";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { loadExportRecord } from "../sync/bundle-export.ts";
import { importReceipts } from "../sync/receipt-import.ts";
import { parseCommandOperands, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const importReceiptUsage = "import-receipt F [--state DIR] [--json]";

export async function importReceiptCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values, positionals } = parseCommandOperands(argv, {}, importReceiptUsage);
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new CollectorError("usage", `one reply file is required; usage: tally-collector ${importReceiptUsage}`);
  const paths = stateFrom(values, io.env);
  let reply: unknown;
  try {
    reply = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new CollectorError("bad_input", `${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "not JSON"}`);
  }
  const exported = await loadExportRecord(paths);
  if (!exported) throw new CollectorError("bad_input", "no export to match this reply with: run export first");
  const site = await openSite(paths);
  try {
    const report = await importReceipts(site, reply, exported, Date.now());
    const pending = report.last_seq - report.acked_seq;
    const learned = report.learned_edge_keys.length > 0 ? `\ntrusts edge key ${report.learned_edge_keys.join(", ")} from now on: endorsed, through the edge's rotations, by a key this site already trusted` : "";
    const revoked = report.revoked_edge_keys.length > 0 ? `\nno longer trusts edge key ${report.revoked_edge_keys.join(", ")}: the edge revoked it (it leaked)` : "";
    const head = `imported ${report.imported} receipts (${report.already_receipted} already receipted); receipted through seq ${report.acked_seq}, ${pending} pending, ${report.released_segments} segments freed${learned}${revoked}`;
    if (report.edge_error) {
      const e = report.edge_error;
      return {
        exit: 1,
        json: { ...report, ok: false, error: "batch_refused", pending },
        text: `FAILED batch_refused the edge refused batch ${e.batch_index ?? "?"}: ${e.error}: ${e.message}\n${head}\n`,
      };
    }
    return { exit: 0, json: { ok: true, ...report, pending }, text: `${head}\n` };
  } finally {
    await site.close();
  }
}
