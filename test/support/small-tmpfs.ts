// A real small disk for full-disk tests: a tmpfs of `size` mounted on a fresh temporary folder.
// Mounting needs `mount` (root, as in CI); where it is not permitted, `skipReason` says why and the
// tests that need it skip with that reason.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SmallTmpfs {
  mountPoint: string;
  /** Empty when mounted. */
  skipReason: string;
  /** Unmounts (when mounted) and removes the folder. */
  remove(): Promise<void>;
}

export async function smallTmpfs(prefix: string, size: string): Promise<SmallTmpfs> {
  const mountPoint = await mkdtemp(join(tmpdir(), prefix));
  let skipReason = "";
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mountPoint], { stdio: "pipe" });
  } catch (e) {
    skipReason = `mount -t tmpfs is not permitted here: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  return {
    mountPoint, skipReason,
    async remove() {
      if (!skipReason) execFileSync("umount", [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    },
  };
}
