// `backfill --source KIND --file F [--timezone Z] [--name N] [--cut S]`: imports a historical
// log or output file into the chain, once. Idempotent through the chain's coverage (see
// chain/coverage.ts): re-running adds nothing; a file that grew since adds only what is new,
// including the rest of a session that was still open at the end of the earlier import.
import { stat } from "node:fs/promises";
import type { RecordBody } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { checkParseFile, recordBatchesFromFile, SourceConfigError, type ParseFileOptions } from "../sources/parse-file.ts";
import { integerOption, parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";
import { ImportProgress } from "./progress.ts";

export const backfillUsage = "backfill --source KIND --file F [--timezone Z] [--name NAME] [--cut S] [--state DIR] [--json]";

/** Records appended per group commit (one fsync each). */
const CHUNK = 2000;

export async function backfillCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { source: { type: "string" }, file: { type: "string" }, timezone: { type: "string" }, name: { type: "string" }, cut: { type: "string" } }, backfillUsage);
  const kind = requireOption(values.source, "source", backfillUsage);
  const file = requireOption(values.file, "file", backfillUsage);
  const options: ParseFileOptions = {
    ...(values.timezone ? { timezone: values.timezone } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(values.cut !== undefined ? { cut_s: integerOption(values.cut, "cut", 3600, 1) } : {}),
  };
  try {
    await checkParseFile(kind, file, options);
  } catch (e) {
    if (e instanceof SourceConfigError) throw new CollectorError(e.code === "file_not_found" ? "bad_input" : "usage", e.message, { source_error: e.code });
    throw e;
  }
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths);
  try {
    const before = site.log.lastSeq();
    const progress = new ImportProgress(io.stderr, (await stat(file)).size);
    const withProgress: ParseFileOptions = { ...options, onProgress: (b) => progress.bytes(b) };
    let parsed = 0;
    let skipped = 0;
    let trimmed = 0;
    let pending: RecordBody[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await site.append(pending);
      pending = [];
      await site.coverage.save(paths.coverage);
    };
    for await (const batch of recordBatchesFromFile(kind, file, withProgress)) {
      for (const body of batch) {
        parsed++;
        const admitted = site.coverage.admit(body as RecordBody);
        if (admitted === null) skipped++;
        else {
          if (admitted !== body) trimmed++;
          pending.push(admitted);
          if (pending.length >= CHUNK) await flush();
        }
      }
      progress.records(parsed, site.log.lastSeq() - before + pending.length);
    }
    await flush();
    progress.done();
    const appended = site.log.lastSeq() - before;
    const json = { ok: true, source: kind, file, parsed, appended, skipped, trimmed, first_seq: appended ? before + 1 : null, last_seq: site.log.lastSeq() };
    return { exit: 0, json, text: appended ? `appended ${appended} records (seq ${before + 1}…${site.log.lastSeq()}); ${skipped} already in the chain\n` : `nothing new: all ${parsed} records already in the chain\n` };
  } finally {
    await site.close();
  }
}
