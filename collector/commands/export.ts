// `export --out F`: the air-gapped sync, outbound (DESIGN.md §4, §9). Writes every pending record
// as signed batches in `tally-bundle/v1` files of at most MAX_BUNDLE_BYTES each (`--max-bytes`:
// smaller, for a medium or mail system with a lower limit): F, then F-2, F-3 … (F = bundle.json:
// bundle-2.json …) when the backlog needs more than one. They are uploaded unchanged, in that
// order, from a connected machine to POST /v1/collectors/:id/bundles (`upload` does it) — one trip carries them all:
// bundle k+1 needs nothing from bundle k's reply. Nothing is released until `import-receipt`
// brings the replies back. Written all or nothing (bundle-files.ts); the export record last.
// `--resolved`: as for `sync`.
import { resolve } from "node:path";
import { MAX_BUNDLE_BYTES } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { clearFlags, loadFlags } from "../state/flags.ts";
import { saveExportRecord, writeBundles } from "../sync/bundle-export.ts";
import { BundleFiles } from "../sync/bundle-files.ts";
import { integerOption, parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const exportUsage = "export --out F [--max-bytes N] [--resolved] [--state DIR] [--json]";

/** Below this a bundle holds hardly a record: a typo, not a medium's limit. */
const MIN_BUNDLE_BYTES = 1024;

export async function exportCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { out: { type: "string" }, "max-bytes": { type: "string" }, resolved: { type: "boolean" } }, exportUsage);
  const out = resolve(requireOption(values.out, "out", exportUsage));
  const maxBytes = integerOption(values["max-bytes"], "max-bytes", MAX_BUNDLE_BYTES, MIN_BUNDLE_BYTES);
  if (maxBytes > MAX_BUNDLE_BYTES) throw new CollectorError("usage", `--max-bytes is at most ${MAX_BUNDLE_BYTES} (the edge's limit for one bundle)`);
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths);
  try {
    if (values.resolved) await clearFlags(paths);
    const flags = await loadFlags(paths);
    if (flags.length > 0) {
      throw new CollectorError("flagged", `export refused: ${flags[0]!.code} flagged (${flags[0]!.message}); once the vendor resolved it, export with --resolved`, { flags });
    }
    const now = Date.now();
    const files = new BundleFiles(out);
    let written;
    try {
      written = await writeBundles(site, now, files, { maxBytes });
      await files.commit();
    } catch (e) {
      await files.abort();
      throw e;
    }
    const { bundles, batches, records } = written;
    await saveExportRecord(paths, { collector_id: site.identity.collector_id, exported_at: now, file: out, batches, bundles });
    const json = {
      ok: true, file: out, files: bundles.map((b) => b.file), bundles,
      bytes: bundles.reduce((n, b) => n + b.bytes, 0), batches: batches.length, records,
      first_seq: batches[0]?.first_seq ?? null, last_seq: batches.at(-1)?.last_seq ?? null,
      pending_after: 0,
    };
    const where = bundles.length === 1 ? out : `${bundles.length} bundles, ${bundles[0]!.file} … ${bundles.at(-1)!.file}`;
    // The connected machine's command, spelt out: it needs the edge's address and the files, nothing of this site.
    const upload = `on a connected machine run \`tally-collector upload --server ${shellWord(site.identity.server)} ${bundles.map((b) => shellWord(b.file)).join(" ")}\` `
      + `(or POST ${bundles.length === 1 ? "it" : "them, in this order,"} to /v1/collectors/${site.identity.collector_id}/bundles and keep each reply), then import-receipt the replies here`;
    const text = records === 0
      ? `nothing pending: wrote an empty bundle to ${out}\n`
      : `exported records ${json.first_seq}…${json.last_seq} in ${json.batches} batches to ${where}; ${upload}\n`;
    return { exit: 0, json, text };
  } finally {
    await site.close();
  }
}

/** `word` as one word of a POSIX shell command line (quoted alike for PowerShell unless it holds a
 *  quote): a path with spaces, as on a USB stick named "USB DISK", pasted unquoted would be
 *  several arguments. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
