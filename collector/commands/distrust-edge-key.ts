// `distrust-edge-key --key-id ID`: stops trusting an edge receipt key the operator was told leaked
// (by the vendor, or GET /v1/keys listing it with a revocation) before any reply carried the
// edge's revocation here. From then on nothing it signs or endorses is accepted: receipts signed
// by it are refused (`key_endorsement: "revoked"`), and so are keys only it endorsed. Receipts
// imported before stay (the records they released stay released); `verify` names them. Refused,
// changing nothing: a key this site does not trust (`bad_input`), and the last key it trusts
// (`last_edge_key`: trust the new key first with trust-edge-key, or the site could accept nothing).
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { loadEdgeKeys, loadRevokedEdgeKeys, mergeEdgeKeys } from "../state/edge-keys.ts";
import { parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const distrustEdgeKeyUsage = "distrust-edge-key --key-id ID [--state DIR] [--json]";

export async function distrustEdgeKeyCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { "key-id": { type: "string" } }, distrustEdgeKeyUsage);
  const keyId = requireOption(values["key-id"], "key-id", distrustEdgeKeyUsage);
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths); // the site's lock: the daemon's syncs merge keys into the same file
  try {
    if ((await loadRevokedEdgeKeys(paths)).some((k) => k.key_id === keyId)) {
      return { exit: 0, json: { ok: true, key_id: keyId, already_distrusted: true }, text: `edge key ${keyId} was already distrusted\n` };
    }
    const trusted = await loadEdgeKeys(paths);
    const key = trusted.find((k) => k.key_id === keyId);
    if (!key) throw new CollectorError("bad_input", `this site does not trust edge key ${keyId} (it trusts ${trusted.map((k) => k.key_id).join(", ") || "none"})`, { trusted: trusted.map((k) => k.key_id) });
    if (trusted.length === 1) {
      throw new CollectorError("last_edge_key", `edge key ${keyId} is the only key this site trusts: trust the edge's new key first (trust-edge-key --public-key --key-id, checked out of band), then distrust this one`);
    }
    const left = await mergeEdgeKeys(paths, [], [{ ...key, distrusted_at: new Date().toISOString() }]);
    const json = { ok: true, key_id: keyId, already_distrusted: false, trusted: left.map((k) => k.key_id) };
    return { exit: 0, json, text: `no longer trusting edge key ${keyId}: receipts it signs are refused from now on (those imported before stay; verify names them)\n` };
  } finally {
    await site.close();
  }
}
