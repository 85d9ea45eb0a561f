// `move --server URL --token-file FILE`: points an enrolled site at another edge that holds its
// history (`core migrate` replayed it there; docs/self-hosting.md "Moving between edges"). The
// site keeps its key, its log and its chain; what changes is the server, the collector_token (the
// target issued its own), the contract id there and the edge keys its receipts are signed with (the
// new edge's key list is then due: the next sync reads it).
// FILE is the site's entry of the operator's migration.json: `{collector_id, contract_id,
// collector_token, edge_public_keys}`. The log is opened (so a running daemon refuses the move),
// and the contract-doc replica is set aside: it holds the old edge's history of the doc, which the
// new edge would refuse to merge; the next sync pulls the new edge's doc.
import { rename } from "node:fs/promises";
import { CollectorError } from "../errors.ts";
import { replicaPath } from "../contract-doc/replica-file.ts";
import { openSite } from "../site.ts";
import { mergeEdgeKeys, normaliseEdgeKeys } from "../state/edge-keys.ts";
import { loadIdentity, saveIdentity } from "../state/identity.ts";
import { readJsonFile } from "../state/json-file.ts";
import { parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const moveUsage = "move --server URL --token-file FILE [--state DIR] [--json]";

interface MovedSite { collector_id?: unknown; contract_id?: unknown; collector_token?: unknown; edge_public_keys?: unknown }

export async function moveCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { server: { type: "string" }, "token-file": { type: "string" } }, moveUsage);
  const server = requireOption(values.server, "server", moveUsage).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(server)) throw new CollectorError("usage", `--server must be an http(s) URL, got ${server}`);
  const file = requireOption(values["token-file"], "token-file", moveUsage);
  const moved = await readJsonFile<MovedSite>(file);
  if (!moved || typeof moved.collector_token !== "string" || typeof moved.contract_id !== "string" || typeof moved.collector_id !== "string") {
    throw new CollectorError("bad_input", `${file}: expected the site's entry of migration.json ({collector_id, contract_id, collector_token, edge_public_keys})`);
  }
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths); // takes the log's lock: refused while the daemon runs
  try {
    const identity = await loadIdentity(paths);
    if (moved.collector_id !== identity.collector_id) {
      throw new CollectorError("bad_input", `${file} is for ${moved.collector_id}; this state dir is ${identity.collector_id}`);
    }
    // The keys come from the operator's file, not from the new edge: its own list is read at the next sync.
    const edgeKeys = await mergeEdgeKeys(paths, normaliseEdgeKeys(moved.edge_public_keys ?? []), [], null);
    await rename(replicaPath(paths), `${replicaPath(paths)}.moved-${Date.now()}`).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
    await saveIdentity(paths, { ...identity, server, contract_id: moved.contract_id }, moved.collector_token);
    const json = { ok: true, collector_id: identity.collector_id, from: identity.server, server, contract_id: moved.contract_id, edge_keys: edgeKeys.map((k) => k.key_id) };
    return { exit: 0, json, text: `${identity.collector_id} now syncs to ${server} (contract ${moved.contract_id}); was ${identity.server}\n` };
  } finally {
    await site.close();
  }
}
