// The files of one `export --out F`: F, then F's numbered siblings (bundle.json, bundle-2.json,
// bundle-3.json …) as the backlog needs. Each is written as `<name>.tmp` and fsync'd; only once
// every one is whole are they renamed into place, and the numbered siblings a previous, longer
// export left beyond the last are removed. A crash leaves at most `.tmp` files beside the
// previous export's bundles (which the next export overwrites): never a torn bundle under its
// final name, and never a set that the export record (written after, by the caller) describes
// but the disk does not hold.
import { open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname, extname } from "node:path";
import { syncDir } from "../state/json-file.ts";
import { writeAll } from "../log/log-fs.ts";

/** The name of bundle `k` (1-based) of an export to `out`: `out` itself, then `<stem>-k<ext>`. */
export function bundleFileName(out: string, k: number): string {
  if (k === 1) return out;
  const ext = extname(out);
  return `${out.slice(0, out.length - ext.length)}-${k}${ext}`;
}

export interface BundleFile {
  name: string;
  write(bytes: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly size: number;
  /** fsync and close (the file keeps its temp name until `commit`). */
  finish(): Promise<void>;
}

export class BundleFiles {
  private readonly files: { name: string; handle: FileHandle | null }[] = [];

  readonly out: string;

  constructor(out: string) {
    this.out = out;
  }

  async next(): Promise<BundleFile> {
    const name = bundleFileName(this.out, this.files.length + 1);
    const entry: { name: string; handle: FileHandle | null } = { name, handle: null };
    this.files.push(entry);
    const handle = await open(`${name}.tmp`, "w", 0o644);
    entry.handle = handle;
    let size = 0;
    return {
      name,
      get size() { return size; },
      write: async (bytes) => {
        try {
          await writeAll(handle, bytes, size);
        } catch (e) {
          (e as NodeJS.ErrnoException).path ??= `${name}.tmp`; // a write through a handle names no file: say which
          throw e;
        }
        size += bytes.length;
      },
      finish: async () => {
        entry.handle = null;
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      },
    };
  }

  /** Every file under its final name (durably), then the stale numbered siblings gone. */
  async commit(): Promise<string[]> {
    for (const f of this.files) await rename(`${f.name}.tmp`, f.name);
    await syncDir(dirname(this.out));
    for (let k = this.files.length + 1; await exists(bundleFileName(this.out, k)); k++) await rm(bundleFileName(this.out, k));
    await syncDir(dirname(this.out));
    return this.files.map((f) => f.name);
  }

  /** Removes every temp file written (a part written to a full disk would keep it full). */
  async abort(): Promise<void> {
    for (const f of this.files) {
      await f.handle?.close().catch(() => {});
      await rm(`${f.name}.tmp`, { force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}
