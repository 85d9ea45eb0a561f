// Counts what the code under test asks of node:fs/promises — directory listings, whole-file reads,
// file opens — per path, while `counted` runs. The real calls run unchanged: the counting wraps
// them, and node:module's syncBuiltinESMExports makes the ESM named imports see the wrappers.
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";

export interface FsCounts {
  readdir: string[];
  readFile: string[];
  open: string[];
}

export async function counted<T>(work: () => Promise<T>): Promise<{ result: T; calls: FsCounts }> {
  const calls: FsCounts = { readdir: [], readFile: [], open: [] };
  const original = { readdir: fsp.readdir, readFile: fsp.readFile, open: fsp.open };
  const wrap = <F>(f: F, into: string[]): F => {
    const call = f as unknown as (...args: unknown[]) => unknown;
    return ((path: unknown, ...rest: unknown[]) => {
      into.push(String(path));
      return call(path, ...rest);
    }) as unknown as F;
  };
  fsp.readdir = wrap(original.readdir, calls.readdir);
  fsp.readFile = wrap(original.readFile, calls.readFile);
  fsp.open = wrap(original.open, calls.open);
  syncBuiltinESMExports();
  try {
    return { result: await work(), calls };
  } finally {
    Object.assign(fsp, original);
    syncBuiltinESMExports();
  }
}
