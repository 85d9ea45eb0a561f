// One source's read state (file position, parser and session-tracker state …) kept so that it and
// the log always agree, whatever happens between the two writes: no interval lost, none appended
// twice — without remembering every session ever appended (what `coverage.json` used to do).
//
// An append of records a read produced goes:
//   1. prepare the records (chain/record-writer.ts: seqs and hashes, no I/O);
//   2. write the state file: {committed: state before, pending: {state after, from_seq, count,
//      first_hash, last_hash}} (atomic replace, fsync);
//   3. append the records (one fsync'd group commit).
// At the next open the log says what happened to the pending append, by hash, not by count:
//   - entry `from_seq` + count − 1 hashes to last_hash: it is in the log — the pending state holds;
//   - entry `from_seq` is absent, or another record (the append failed and was rolled back,
//     and something else was appended there later): the committed state holds;
//   - entry `from_seq` is ours but the last is missing: a crash cut the batch short (FORMAT.md
//     "Recovery" keeps complete frames of an unfinished batch). Those entries were never reported
//     to anyone, so never sent: the log forgets them and the committed state reads them again.
// A read that produced no records just replaces the committed state. A released `from_seq`
// (receipted, so appended whole) counts as in the log.
//
// A state may keep a part apart, in an append-only appendix (state-appendix.ts) written before the
// state file that names it (`committed_appendix`, `pending.appendix`: file and length): a step then
// writes what it changed of that part, not the whole. Format v2; v1 (no appendix) is still read.
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ChainHead, RecordBody as ChainBody } from "../../shared/protocol/index.ts";
import { joinPrepared, type PreparedAppend } from "../chain/record-writer.ts";
import type { RecordBody } from "../sessions/records.ts";
import { CollectorError } from "../errors.ts";
import type { Site } from "../site.ts";
import { readJsonFile, replaceFile } from "../state/json-file.ts";
import { type AppendixChange, type AppendixRef, type AppendixWrite, StateAppendix } from "./state-appendix.ts";

const FORMAT = "tally-source-state/v2";
const FORMATS_READ = new Set([FORMAT, "tally-source-state/v1"]);

interface Pending<S> { state: S; appendix?: AppendixRef; from_seq: number; count: number; first_hash: string; last_hash: string }
interface JournalFile<S> { format: string; committed: S; committed_appendix?: AppendixRef; pending?: Pending<S> }

export type JournalRecovery = "clean" | "pending_appended" | "pending_not_appended" | "pending_cut_short";

/** Every source's journal of this state dir: open settles them all before anything appends,
 *  so a batch cut short is always the last thing in the log when it is forgotten. */
export function sourcesDir(stateDir: string): string {
  return join(stateDir, "sources");
}

export function sourceStatePath(stateDir: string, name: string): string {
  return join(sourcesDir(stateDir), `${name}.json`);
}

/** The state files of a state dir's sources (the daemon's `<name>.json`, backfill's `<name>@<id>.json`), sorted. */
export async function listSourceStates(stateDir: string): Promise<string[]> {
  try {
    return (await readdir(sourcesDir(stateDir))).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Settles the pending step of every journal in the state dir (site.ts calls this at open). */
export async function settleJournals(site: Site): Promise<Record<string, JournalRecovery>> {
  const out: Record<string, JournalRecovery> = {};
  let names: string[];
  try {
    names = (await readdir(sourcesDir(site.paths.dir))).filter((n) => n.endsWith(".json"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw e;
  }
  for (const name of names.sort()) {
    const path = join(sourcesDir(site.paths.dir), name);
    // Only a journal with a step pending has anything to settle. The others stay unopened: every
    // command opens the site, and a state dir keeps a journal per file ever backfilled, each
    // opening a listing of the folder and reading an appendix of up to megabytes.
    const file = await readJsonFile<JournalFile<unknown>>(path);
    if (file === undefined || (FORMATS_READ.has(file.format) && file.pending === undefined)) continue;
    const { recovery } = await SourceJournal.open(site, path);
    if (recovery !== "clean") out[name.slice(0, -5)] = recovery;
  }
  return out;
}

/** The committed state a journal's file holds, without opening the journal (no appendix read).
 *  What the journal would say only once settled: call it on an open site (site.ts settles them all). */
export async function settledState<S>(path: string): Promise<S | undefined> {
  const file = await readJsonFile<JournalFile<S>>(path);
  return file !== undefined && FORMATS_READ.has(file.format) && file.pending === undefined ? file.committed : undefined;
}

export class SourceJournal<S> {
  readonly path: string;
  readonly #site: Site;
  #committed: S | undefined;
  /** The committed state as written (JSON, UTF-8): each state is serialised once, as the pending one. */
  #committedBytes: Uint8Array | undefined;
  /** Where the committed state's appendix is, and its text as of open (until a step moves on). */
  #committedRef: AppendixRef | undefined;
  #appendixText: string | undefined;
  readonly #appendix: StateAppendix;
  /** A failed append left its pending step in the file, and rewriting it failed too. */
  #stale = false;
  /** The writes of the steps begun, in order; rejects with the first failure. */
  #writes: Promise<void> = Promise.resolve();
  /** While steps are being written: the chain head their records leave (the next is prepared on it). */
  #tip: ChainHead | undefined;
  /** Records of the next step prepared as they were read (`stage`), appended by its `begin`. */
  #staged: PreparedAppend[] = [];

  private constructor(site: Site, path: string, committed: S | undefined, ref: AppendixRef | undefined, appendix: StateAppendix, text: string | undefined) {
    this.#site = site;
    this.path = path;
    this.#committed = committed;
    this.#committedBytes = committed === undefined ? undefined : Buffer.from(JSON.stringify(committed));
    this.#committedRef = ref;
    this.#appendix = appendix;
    this.#appendixText = text;
  }

  /** Opens the journal at `path` and settles a pending append against the log (see the header). */
  static async open<S>(site: Site, path: string): Promise<{ journal: SourceJournal<S>; recovery: JournalRecovery }> {
    const file = await readJsonFile<JournalFile<S>>(path);
    if (file !== undefined && !FORMATS_READ.has(file.format)) throw new CollectorError("bad_state", `${path} is not a ${FORMAT} file`);
    const recovery = file?.pending ? await settle(site, file.pending) : "clean";
    const [committed, ref] = recovery === "pending_appended" ? [file!.pending!.state, file!.pending!.appendix] : [file?.committed, file?.committed_appendix];
    const { appendix, text } = await StateAppendix.open(path, ref);
    const journal = new SourceJournal<S>(site, path, committed, ref, appendix, text);
    if (file?.pending) await journal.#write(undefined);
    return { journal, recovery };
  }

  /** The state as of the last durable step (undefined for a source never read). */
  committed(): S | undefined {
    return this.#committed;
  }

  /** The text of the committed state's appendix (undefined: it keeps nothing apart): a reader of
   *  the committed state is restored from both. */
  async committedAppendix(): Promise<string | undefined> {
    if (this.#committedRef === undefined) return undefined;
    this.#appendixText ??= (await this.#appendix.read(this.#committedRef, this.path)).text;
    return this.#appendixText;
  }

  stale(): boolean {
    return this.#stale;
  }

  /** Replaces the state when a read produced no records. */
  save(state: S): Promise<void> {
    return this.append(state, []);
  }

  /** Appends `bodies` to the chain and makes `next` the state, as one step (see the header). */
  async append(next: S, bodies: RecordBody[], apart?: AppendixChange): Promise<void> {
    await this.begin(next, bodies, apart);
    await this.durable();
  }

  /**
   * The same step, written behind: the records are prepared and `next` serialised now (the caller
   * may change what `next` was taken from as soon as this returns), the writes start once the step
   * before is durable. Resolves then — rejecting with that step's failure, and this one is dropped —
   * without waiting for this step's writes: `durable()` does. Nothing else may append to the chain
   * until `durable()` has resolved. `apart`: what changed of the part `next` keeps in the appendix
   * (none: `next` is whole).
   */
  async begin(next: S, bodies: RecordBody[], apart?: AppendixChange): Promise<void> {
    const bytes = Buffer.from(JSON.stringify(next));
    const appendixWrite = this.#appendix.plan(apart);
    const ref = this.#appendix.tip();
    this.stage(bodies);
    const prepared = this.#staged.length === 0 ? undefined : joinPrepared(this.#staged);
    this.#staged = [];
    try {
      await this.#writes;
    } catch (e) {
      this.#tip = undefined;
      this.#appendix.rollback(this.#committedRef);
      throw e;
    }
    const writes = this.#step({ state: next, bytes, ref }, prepared, appendixWrite);
    this.#writes = writes;
    writes.catch(() => undefined); // seen by the next begin or durable()
  }

  /**
   * Prepares records of the step being read, before its state is known: the next `begin` appends
   * them, before its own `bodies`, with its state. Dropped if that `begin` fails.
   */
  stage(bodies: RecordBody[]): void {
    if (bodies.length === 0) return;
    // The tracker's bodies are the protocol's (records.ts mirrors DESIGN.md §4), minus its index signature.
    const prepared = this.#site.writer.prepare(bodies as ChainBody[], this.#tip ?? this.#site.writer.head());
    this.#tip = prepared.after;
    this.#staged.push(prepared);
  }

  /** Waits for the writes of every step begun; rejects with the failure of the first that failed. */
  async durable(): Promise<void> {
    await this.#writes;
  }

  /** Retries rewriting the file without its failed pending step. */
  async clearStale(): Promise<void> {
    if (!this.#stale) return;
    await this.#write(undefined);
    this.#stale = false;
  }

  async #step(next: { state: S; bytes: Uint8Array; ref: AppendixRef | undefined }, prepared: PreparedAppend | undefined, appendixWrite: AppendixWrite | undefined): Promise<void> {
    const { bytes, ref } = next;
    try {
      if (appendixWrite) await this.#appendix.write(appendixWrite);
      if (prepared === undefined) {
        await this.#writeFile(bytes, ref, undefined);
      } else {
        await this.#write({ state: bytes, ...(ref ? { appendix: ref } : {}), from_seq: prepared.firstSeq, count: prepared.count, first_hash: prepared.firstHash, last_hash: prepared.lastHash });
        try {
          await this.#site.writer.commit(prepared);
        } catch (e) {
          // The log rolled the batch back (or refuses everything until reopened). Take the pending
          // step out now, so no later append can sit where this one would have been.
          this.#stale = true;
          await this.clearStale().catch(() => undefined);
          throw e;
        }
      }
      this.#committed = next.state;
      this.#committedBytes = bytes;
      this.#committedRef = ref;
      this.#appendixText = undefined;
      this.#stale = false;
    } catch (e) {
      this.#tip = undefined;
      this.#appendix.rollback(this.#committedRef);
      throw e;
    } finally {
      if (this.#tip === prepared?.after) this.#tip = undefined;
    }
  }

  /** The file: the committed state and, when given, the step about to be appended (its state as JSON). */
  #write(pending: PendingBytes | undefined): Promise<void> {
    return this.#writeFile(this.#committedBytes, this.#committedRef, pending);
  }

  async #writeFile(committed: Uint8Array | undefined, ref: AppendixRef | undefined, pending: PendingBytes | undefined): Promise<void> {
    // Built from the states' JSON: the same bytes as JSON.stringify of the JournalFile.
    const parts: Uint8Array[] = [Buffer.from(`{"format":${JSON.stringify(FORMAT)}`)];
    if (committed !== undefined) parts.push(Buffer.from(`,"committed":`), committed);
    if (ref !== undefined) parts.push(Buffer.from(`,"committed_appendix":${JSON.stringify(ref)}`));
    if (pending) {
      const { state, ...rest } = pending;
      parts.push(Buffer.from(`,"pending":{"state":`), state, Buffer.from(`,${JSON.stringify(rest).slice(1)}`));
    }
    parts.push(Buffer.from("}"));
    await mkdir(join(this.path, ".."), { recursive: true, mode: 0o700 });
    await replaceFile(this.path, Buffer.concat(parts), 0o600);
    // What the file names no more is not needed by any recovery from now on.
    await this.#appendix.prune([ref, pending?.appendix]);
  }
}

/** A pending step with its state already serialised (JSON, UTF-8). */
type PendingBytes = Omit<Pending<unknown>, "state"> & { state: Uint8Array };

async function settle<S>(site: Site, pending: Pending<S>): Promise<JournalRecovery> {
  const { log } = site;
  const last = pending.from_seq + pending.count - 1;
  if (pending.from_seq < log.firstSeq()) return "pending_appended";
  if (log.lastSeq() < pending.from_seq || (await site.hashAt(pending.from_seq)) !== pending.first_hash) return "pending_not_appended";
  if (log.lastSeq() >= last && (await site.hashAt(last)) === pending.last_hash) return "pending_appended";
  if (log.lastSeq() >= last) {
    // Cut short, and something else was appended after it: impossible while every journal is
    // settled at open, before any append. The part in the log stays; reading again from the
    // committed state may repeat it, which the edge bills — preferred over losing the rest.
    return "pending_cut_short";
  }
  await log.forget(pending.from_seq - 1);
  await site.writer.reload();
  return "pending_cut_short";
}
