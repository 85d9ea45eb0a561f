// `trust-edge-key --public-key HEX --key-id ID`: adds an edge receipt key the operator checked out
// of band (read from GET /v1/keys on a machine that reaches the edge, or handed over by the vendor).
// For the one case a bundle reply cannot settle: after a leaked edge key, the new key comes with no
// endorsement worth trusting, so an air-gapped site refuses its receipts (`unknown_key`,
// `key_endorsement: "unendorsed"`) until a person vouches for it. The key id is required too and
// must be the key's own: a mistyped key is refused instead of trusted. A key the edge revoked is
// refused (`bad_input`: it leaked, nothing vouches for it again); one the operator distrusted
// (distrust-edge-key) is trusted again — the undo of a mistaken distrust.
import { keyIdOf } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { isEdgePublicKey, loadEdgeKeys, loadRevokedEdgeKeys, mergeEdgeKeys, restoreEdgeKey } from "../state/edge-keys.ts";
import { parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const trustEdgeKeyUsage = "trust-edge-key --public-key HEX --key-id ID [--state DIR] [--json]";

export async function trustEdgeKeyCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { "public-key": { type: "string" }, "key-id": { type: "string" } }, trustEdgeKeyUsage);
  const publicKey = requireOption(values["public-key"], "public-key", trustEdgeKeyUsage).toLowerCase();
  const keyId = requireOption(values["key-id"], "key-id", trustEdgeKeyUsage);
  if (!isEdgePublicKey(publicKey)) throw new CollectorError("bad_input", "--public-key is not an edge public key (64 hex digits, as GET /v1/keys lists it)");
  if (keyIdOf(publicKey) !== keyId) {
    throw new CollectorError("bad_input", `--key-id ${keyId} is not this key's id (${keyIdOf(publicKey)}): check both against GET /v1/keys`, { expected_key_id: keyIdOf(publicKey) });
  }
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths); // the site's lock: the daemon's syncs merge keys into the same file
  try {
    const revoked = (await loadRevokedEdgeKeys(paths)).find((k) => k.key_id === keyId);
    if (revoked?.revocation) {
      throw new CollectorError("bad_input", `edge key ${keyId} was revoked by the edge (${revoked.revocation.revoked_by}): it leaked and cannot be trusted again`, { revoked_by: revoked.revocation.revoked_by });
    }
    const already = (await loadEdgeKeys(paths)).some((k) => k.key_id === keyId && k.public_key === publicKey);
    if (revoked) await restoreEdgeKey(paths, { key_id: keyId, public_key: publicKey });
    else if (!already) await mergeEdgeKeys(paths, [{ key_id: keyId, public_key: publicKey }]);
    const json = { ok: true, key_id: keyId, public_key: publicKey, already_trusted: already };
    return { exit: 0, json, text: already ? `edge key ${keyId} was already trusted\n` : `trusting edge key ${keyId}: receipts it signs are accepted from now on\n` };
  } finally {
    await site.close();
  }
}
