// What a power cut does to bytes and directory entries that were never fsynced. Each unsynced
// write gets a random fate; the documented-safe ones are what a file system that writes a file's
// pages in order can produce, the others (garbage, pages out of order) are deliberately worse.
// Pure functions over plain data, driven by a seeded random source.

export type Random = () => number;

/** Fates FORMAT.md promises to recover from without `log_corrupt`. */
export const SAFE_WRITE_FATES = ["kept", "dropped", "prefix", "zero_fill", "prefix_then_zeros"] as const;
/** Fates that may legitimately end in `log_corrupt` (never in a lost acknowledged record). */
export const UNSAFE_WRITE_FATES = ["garbled", "pages_out_of_order"] as const;
export type WriteFate = (typeof SAFE_WRITE_FATES)[number] | (typeof UNSAFE_WRITE_FATES)[number];
export type TruncateFate = "truncate_kept" | "truncate_dropped";
export type Fate = WriteFate | TruncateFate;

export type DataOp = { op: "write"; position: number; bytes: Uint8Array } | { op: "truncate"; size: number };

/** How fates are chosen: `safe` only from SAFE_WRITE_FATES, `any` from all, `drop_all` loses
 *  every unsynced write (the harshest outcome a correct fsync discipline must survive). */
export type FateProfile = "safe" | "any" | "drop_all";

export interface FateChoice {
  profile: FateProfile;
  random: Random;
  pageBytes: number;
  /** Every fate applied, for the test's tally. */
  applied: Fate[];
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const between = (random: Random, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

/** The file's content after a power cut: the durable bytes with each pending op applied per its fate. */
export function applyPendingOps(durable: Uint8Array, pending: readonly DataOp[], choice: FateChoice): Uint8Array {
  let file = durable;
  for (const op of pending) {
    if (op.op === "truncate") {
      const fate: TruncateFate = choice.profile === "drop_all" || choice.random() < 0.5 ? "truncate_dropped" : "truncate_kept";
      choice.applied.push(fate);
      if (fate === "truncate_kept") file = resize(file, op.size);
      continue;
    }
    if (op.bytes.length === 0) continue;
    const fate: WriteFate = choice.profile === "drop_all" ? "dropped"
      : pick(choice.random, choice.profile === "safe" ? SAFE_WRITE_FATES : [...SAFE_WRITE_FATES, ...UNSAFE_WRITE_FATES]);
    choice.applied.push(fate);
    file = applyWrite(file, op.position, op.bytes, fate, choice);
  }
  return file;
}

function applyWrite(file: Uint8Array, position: number, bytes: Uint8Array, fate: WriteFate, choice: FateChoice): Uint8Array {
  const end = position + bytes.length;
  const { random } = choice;
  switch (fate) {
    case "kept":
      return overwrite(resize(file, Math.max(file.length, end)), position, bytes);
    case "dropped":
      return file;
    case "prefix": {
      // The size and data persisted up to a byte inside the write (a short file).
      const cut = between(random, 0, bytes.length - 1);
      return overwrite(resize(file, Math.max(file.length, position + cut)), position, bytes.subarray(0, cut));
    }
    case "zero_fill":
      // The size persisted, no data block did: the new bytes read as zeros.
      return resize(file, Math.max(file.length, end));
    case "prefix_then_zeros": {
      const cut = between(random, 0, bytes.length - 1);
      return overwrite(resize(file, Math.max(file.length, end)), position, bytes.subarray(0, cut));
    }
    case "garbled": {
      // A prefix persisted, then garbage (a torn sector, stale blocks) up to a random end.
      const cut = between(random, 0, bytes.length - 1);
      const stop = between(random, cut + 1, bytes.length);
      const out = overwrite(resize(file, Math.max(file.length, position + stop)), position, bytes.subarray(0, cut));
      for (let i = position + cut; i < position + stop; i++) out[i] = Math.floor(random() * 256);
      return out;
    }
    case "pages_out_of_order": {
      // Each page of the write independently persisted or not; the size did.
      let out = resize(file, Math.max(file.length, end));
      for (let page = position - (position % choice.pageBytes); page < end; page += choice.pageBytes) {
        if (random() < 0.5) continue;
        const from = Math.max(page, position);
        const to = Math.min(page + choice.pageBytes, end);
        out = overwrite(out, from, bytes.subarray(from - position, to - position));
      }
      return out;
    }
  }
}

function resize(file: Uint8Array, size: number): Uint8Array {
  if (size === file.length) return file;
  const out = new Uint8Array(size);
  out.set(file.subarray(0, Math.min(size, file.length)));
  return out;
}

function overwrite(file: Uint8Array, position: number, bytes: Uint8Array): Uint8Array {
  const out = file.slice();
  out.set(bytes, position);
  return out;
}

/** Directory changes since the directory's last fsync, each atomic (a rename moves one name). */
export type DirOp<N> = { op: "set"; name: string; node: N } | { op: "delete"; name: string } | { op: "rename"; from: string; to: string; node: N };

export type DirFate = "dir_prefix" | "dir_subset" | "dir_none";

/** The entries after a power cut: the durable ones plus either an in-order prefix of the pending
 *  changes (a journaling file system) or any subset of them (all POSIX promises). */
export function applyPendingDirOps<N>(durable: ReadonlyMap<string, N>, pending: readonly DirOp<N>[], choice: FateChoice, dirFates: DirFate[]): Map<string, N> {
  const entries = new Map(durable);
  if (pending.length === 0) return entries;
  let keep: (i: number) => boolean;
  if (choice.profile === "drop_all") {
    dirFates.push("dir_none");
    keep = () => false;
  } else if (choice.random() < 0.5) {
    dirFates.push("dir_prefix");
    const count = between(choice.random, 0, pending.length);
    keep = (i) => i < count;
  } else {
    dirFates.push("dir_subset");
    const chosen = pending.map(() => choice.random() < 0.5);
    keep = (i) => chosen[i]!;
  }
  for (const [i, op] of pending.entries()) {
    if (!keep(i)) continue;
    if (op.op === "set") entries.set(op.name, op.node);
    else if (op.op === "delete") entries.delete(op.name);
    else {
      if (entries.get(op.from) === op.node) entries.delete(op.from);
      entries.set(op.to, op.node);
    }
  }
  return entries;
}
