// `export --out F`: the air-gapped sync, outbound (DESIGN.md §4, §9). Writes every pending record
// as signed batches in a `tally-bundle/v1` file (atomically), to be uploaded unchanged from a
// connected machine to POST /v1/collectors/:id/bundles. Nothing is released until
// `import-receipt` brings the edge's reply back. `--resolved`: as for `sync`.
import { open, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { MAX_BUNDLE_BYTES } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { clearFlags, loadFlags } from "../state/flags.ts";
import { syncDir } from "../state/json-file.ts";
import { buildBundle, saveExportRecord } from "../sync/bundle-export.ts";
import { parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const exportUsage = "export --out F [--resolved] [--state DIR] [--json]";

export async function exportCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { out: { type: "string" }, resolved: { type: "boolean" } }, exportUsage);
  const out = resolve(requireOption(values.out, "out", exportUsage));
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths);
  try {
    if (values.resolved) await clearFlags(paths);
    const flags = await loadFlags(paths);
    if (flags.length > 0) {
      throw new CollectorError("flagged", `export refused: ${flags[0]!.code} flagged (${flags[0]!.message}); once the vendor resolved it, export with --resolved`, { flags });
    }
    const now = Date.now();
    const bundle = await buildBundle(site, now);
    await writeAtomically(out, bundle.bytes);
    await saveExportRecord(paths, { collector_id: site.identity.collector_id, exported_at: now, file: out, batches: bundle.batches });
    const json = {
      ok: true, file: out, bytes: bundle.bytes.length, batches: bundle.batches.length, records: bundle.records,
      first_seq: bundle.batches[0]?.first_seq ?? null, last_seq: bundle.batches.at(-1)?.last_seq ?? null,
      pending_after: bundle.pendingAfter,
    };
    const more = bundle.pendingAfter > 0
      ? `\n${bundle.pendingAfter} more records did not fit in one bundle (${MAX_BUNDLE_BYTES} bytes): export again after importing this bundle's receipt`
      : "";
    const text = bundle.records === 0
      ? `nothing pending: wrote an empty bundle to ${out}\n`
      : `exported records ${json.first_seq}…${json.last_seq} in ${json.batches} batches to ${out}; upload it to POST /v1/collectors/${site.identity.collector_id}/bundles, then run import-receipt on the reply${more}\n`;
    return { exit: 0, json, text };
  } finally {
    await site.close();
  }
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w", 0o644);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (e) {
    await rm(tmp, { force: true }); // a part written to a full disk would keep it full
    (e as NodeJS.ErrnoException).path ??= tmp; // a write through a handle names no file: say which
    throw e;
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}
