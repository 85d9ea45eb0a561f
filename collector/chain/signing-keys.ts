// Which key signs which batch (DESIGN.md §4 `key_rotation`). `key.json` is the key in force for
// records up to a pending rotation; `key-next.json` (0600) holds the new key and `from_seq`, the
// first seq it signs. The rotation record (seq from_seq − 1) ends its batch and is signed by the
// old key; every batch starting at from_seq or later is signed by the new one. Once a receipt
// covers the rotation, the new key replaces key.json and the old one is gone.
//
// key-next.json is written (fsync'd) before the rotation record is appended. If the collector
// died in between, the record at from_seq − 1 is not that rotation: the pending key is dropped,
// so a key the edge never heard of never signs anything.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair, type KeyRotationData } from "../../shared/protocol/index.ts";
import { decodeRecord } from "./record-writer.ts";
import { CollectorError } from "../errors.ts";
import type { SegmentLog } from "../log/segment-log.ts";
import { saveKey, type SiteKey } from "../state/identity.ts";
import { readJsonFile, syncDir, writeJsonFile } from "../state/json-file.ts";
import type { StatePaths } from "../state/state-dir.ts";

const NEXT_FORMAT = "tally-collector-next-key/v1";

export interface PendingKey extends SiteKey { from_seq: number }

export function nextKeyPath(paths: StatePaths): string {
  return join(paths.dir, "key-next.json");
}

export class SigningKeys {
  readonly #paths: StatePaths;
  #current: SiteKey;
  #pending: PendingKey | null;

  private constructor(paths: StatePaths, current: SiteKey, pending: PendingKey | null) {
    this.#paths = paths;
    this.#current = current;
    this.#pending = pending;
  }

  /** Loads the keys and settles a pending rotation against the log (promote, keep or drop). */
  static async load(paths: StatePaths, current: SiteKey, log: SegmentLog): Promise<SigningKeys> {
    const keys = new SigningKeys(paths, current, await readPending(paths));
    const pending = keys.#pending;
    if (pending === null) return keys;
    const rotationSeq = pending.from_seq - 1;
    if (log.ackedSeq() >= rotationSeq) {
      await keys.#promote();
    } else if (rotationSeq > log.lastSeq() || !(await holdsRotation(log, rotationSeq, pending.public_key))) {
      await rm(nextKeyPath(paths), { force: true });
      await syncDir(paths.dir);
      keys.#pending = null;
    }
    return keys;
  }

  get pending(): PendingKey | null {
    return this.#pending;
  }

  /** The secret key that signs a batch whose first record is `firstSeq`. */
  secretFor(firstSeq: number): string {
    return this.#pending !== null && firstSeq >= this.#pending.from_seq ? this.#pending.secret_key : this.#current.secret_key;
  }

  /** The last seq a batch starting at `firstSeq` may hold: the rotation record ends its batch. */
  batchEnd(firstSeq: number): number {
    return this.#pending !== null && firstSeq < this.#pending.from_seq ? this.#pending.from_seq - 1 : Number.MAX_SAFE_INTEGER;
  }

  /** Call after a receipt is stored: once it covers the rotation, the new key is the only key. */
  async receipted(ackedSeq: number): Promise<void> {
    if (this.#pending !== null && ackedSeq >= this.#pending.from_seq - 1) await this.#promote();
  }

  /** Writes the new key as pending for `fromSeq` on (before its rotation record is appended). */
  static async prepareRotation(paths: StatePaths, fromSeq: number): Promise<PendingKey> {
    if (await readPending(paths)) throw new CollectorError("bad_state", "a key rotation is already waiting for its receipt; sync (or export and import the receipt) first");
    const pair = generateKeyPair();
    const pending: PendingKey = { secret_key: pair.secretKey, public_key: pair.publicKey, from_seq: fromSeq };
    await writeJsonFile(nextKeyPath(paths), { format: NEXT_FORMAT, ...pending }, 0o600);
    return pending;
  }

  async #promote(): Promise<void> {
    const next = this.#pending!;
    // The old public key stays known, so `verify` can still check the checkpoints it signed.
    await retirePublicKey(this.#paths, this.#current.public_key);
    // key.json first: a crash before the rm leaves both files naming the same new key, which
    // load() promotes again.
    await saveKey(this.#paths, { secret_key: next.secret_key, public_key: next.public_key });
    await rm(nextKeyPath(this.#paths), { force: true });
    await syncDir(this.#paths.dir);
    this.#current = { secret_key: next.secret_key, public_key: next.public_key };
    this.#pending = null;
  }
}

export function retiredKeysPath(paths: StatePaths): string {
  return join(paths.dir, "retired-keys.json");
}

/** Public keys this site signed with before its current key, oldest first. */
export async function retiredPublicKeys(paths: StatePaths): Promise<string[]> {
  return (await readJsonFile<{ public_keys?: string[] }>(retiredKeysPath(paths)))?.public_keys ?? [];
}

async function retirePublicKey(paths: StatePaths, publicKey: string): Promise<void> {
  const keys = await retiredPublicKeys(paths);
  if (!keys.includes(publicKey)) await writeJsonFile(retiredKeysPath(paths), { public_keys: [...keys, publicKey] });
}

async function readPending(paths: StatePaths): Promise<PendingKey | null> {
  const raw = await readJsonFile<Partial<PendingKey> & { format?: string }>(nextKeyPath(paths));
  if (!raw) return null;
  if (raw.format !== NEXT_FORMAT || typeof raw.secret_key !== "string" || typeof raw.public_key !== "string" || !Number.isSafeInteger(raw.from_seq)) {
    throw new CollectorError("bad_state", `${nextKeyPath(paths)} is not a ${NEXT_FORMAT} file`);
  }
  return { secret_key: raw.secret_key, public_key: raw.public_key, from_seq: raw.from_seq! };
}

async function holdsRotation(log: SegmentLog, seq: number, publicKey: string): Promise<boolean> {
  if (seq < log.firstSeq()) return false;
  const [entry] = await log.read(seq, { maxCount: 1 });
  if (!entry) return false;
  const record = decodeRecord(entry.payload, seq);
  return record.kind === "key_rotation" && (record.data as KeyRotationData).public_key === publicKey;
}
