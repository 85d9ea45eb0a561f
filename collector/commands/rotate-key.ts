// `rotate-key`: replaces the site's signing key (DESIGN.md §4). Appends a `key_rotation` record
// naming a fresh public key; the batch ending with it is signed by the old key, every later batch
// by the new one. The old key stays until a receipt covers the rotation (chain/signing-keys.ts).
// One rotation at a time: another is refused until the pending one is receipted.
import { SigningKeys } from "../chain/signing-keys.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { parseCommandArgs, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const rotateKeyUsage = "rotate-key [--state DIR] [--json]";

export async function rotateKeyCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, {}, rotateKeyUsage);
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths);
  try {
    const signing = await SigningKeys.load(paths, site.key, site.log); // drops a rotation a crash left unwritten
    if (signing.pending) {
      throw new CollectorError("bad_state", `a key rotation at seq ${signing.pending.from_seq - 1} is waiting for its receipt; sync (or export and import the receipt) first`);
    }
    const rotationSeq = site.log.lastSeq() + 1;
    const next = await SigningKeys.prepareRotation(paths, rotationSeq + 1);
    const [record] = await site.append([{ kind: "key_rotation", data: { public_key: next.public_key } }]);
    if (record?.seq !== rotationSeq) throw new CollectorError("bad_state", `the rotation landed at seq ${record?.seq}, expected ${rotationSeq}`);
    const json = { ok: true, rotation_seq: rotationSeq, public_key: next.public_key, new_key_signs_from_seq: rotationSeq + 1, old_public_key: site.key.public_key };
    return { exit: 0, json, text: `key rotation written at seq ${rotationSeq}; the new key signs from seq ${rotationSeq + 1} once synced\n` };
  } finally {
    await site.close();
  }
}
