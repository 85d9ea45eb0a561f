// Which key signs which batch around a key rotation (DESIGN.md §4), on a real state dir and log:
// the rotation ends its batch under the old key, the new key signs from the next seq, the old key
// is retired only once a receipt covers the rotation, and a rotation a crash never appended is
// dropped rather than ever signing.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateKeyPair, type RecordBody } from "../../../shared/protocol/index.ts";
import { RecordWriter } from "../../../collector/chain/record-writer.ts";
import { nextKeyPath, retiredPublicKeys, SigningKeys } from "../../../collector/chain/signing-keys.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { saveKey } from "../../../collector/state/identity.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

const heartbeat: RecordBody = { kind: "heartbeat", data: { sources: [] } };

async function siteDir() {
  const dir = await mkdtemp(join(tmpdir(), "tally-keys-"));
  dirs.push(dir);
  const paths = statePaths(dir);
  const pair = generateKeyPair();
  const key = { secret_key: pair.secretKey, public_key: pair.publicKey };
  await saveKey(paths, key);
  const { log } = await SegmentLog.open(paths.log);
  const writer = await RecordWriter.open(log, "col_keys");
  await writer.append([heartbeat, heartbeat, heartbeat]);
  return { paths, key, log, writer };
}

describe("signing keys around a rotation", () => {
  it("old key through the rotation record, new key after; the old key retires once the rotation is receipted", async () => {
    const { paths, key, log, writer } = await siteDir();
    try {
      const next = await SigningKeys.prepareRotation(paths, 5);
      expect((await stat(nextKeyPath(paths))).mode & 0o777).toBe(0o600);
      await writer.append([{ kind: "key_rotation", data: { public_key: next.public_key } }, heartbeat]);
      const keys = await SigningKeys.load(paths, key, log);
      expect([keys.secretFor(1), keys.batchEnd(1), keys.secretFor(5), keys.batchEnd(5)]).toEqual([key.secret_key, 4, next.secret_key, Number.MAX_SAFE_INTEGER]);

      await keys.receipted(3);
      expect(keys.pending?.from_seq).toBe(5);
      await keys.receipted(4);
      expect(keys.pending).toBeNull();
      expect(JSON.parse(await readFile(paths.key, "utf8")).public_key).toBe(next.public_key);
      expect(await retiredPublicKeys(paths)).toEqual([key.public_key]);
      await expect(stat(nextKeyPath(paths))).rejects.toThrow(/ENOENT/);
    } finally {
      await log.close();
    }
  });

  it("a pending key whose rotation record never reached the log (a crash in between) is dropped", async () => {
    const { paths, key, log, writer } = await siteDir();
    try {
      await SigningKeys.prepareRotation(paths, 5);
      await writer.append([heartbeat, heartbeat]); // seq 4 is not the rotation
      const keys = await SigningKeys.load(paths, key, log);
      expect([keys.pending, keys.secretFor(5), keys.batchEnd(1)]).toEqual([null, key.secret_key, Number.MAX_SAFE_INTEGER]);
      await expect(stat(nextKeyPath(paths))).rejects.toThrow(/ENOENT/);
    } finally {
      await log.close();
    }
  });

  it("a second rotation is refused while one waits for its receipt", async () => {
    const { paths, log } = await siteDir();
    try {
      await SigningKeys.prepareRotation(paths, 5);
      await expect(SigningKeys.prepareRotation(paths, 6)).rejects.toMatchObject({ code: "bad_state" });
    } finally {
      await log.close();
    }
  });
});
