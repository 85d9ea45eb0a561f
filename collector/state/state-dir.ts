// Where the collector keeps everything of one site (DESIGN.md §9): `--state DIR`, else
// $TALLY_STATE, else ./.tally. One file per concern:
//
//   key.json          Ed25519 key pair (mode 0600; the private key never leaves the site)
//   credentials.json  collector_token for non-batch edge calls (mode 0600)
//   identity.json     enrollment: collector_id, contract_id, server, site, scope
//   edge-keys.json    edge receipt keys learned at enrollment or from GET /v1/keys
//   flags.json        trust flags (equivocation, edge regression): sync refuses while any is set
//   receipts.jsonl    every accepted receipt with the checkpoint it answered (for `verify`)
//   sources/          one read state per source (`<name>.json`: the daemon's; `<name>@<file>.json`:
//                     a backfilled file), kept in step with the log (daemon/source-journal.ts)
//   daemon.json       the running daemon's status, rewritten every round (status, /metrics)
//   privacy-key.json  the key of the site's pseudonyms (mode 0600; privacy.pseudonymise)
//   pseudonyms.jsonl  every name pseudonymised, for `reveal` (never leaves the site)
//   log/              the SegmentLog (framed, fsync'd record segments + receipt cursor)
//   key-next.json     a rotated-in key waiting for its rotation's receipt (mode 0600; chain/signing-keys.ts)
//   retired-keys.json public keys rotated out (so `verify` still checks the checkpoints they signed)
//   contract-doc.bin  the contract-doc replica (terms, last known balance, site roots), atomic rewrites
//   export.json       the latest `export`: its batches, to match `import-receipt`'s receipts with
import { resolve, join } from "node:path";

export interface StatePaths {
  dir: string;
  key: string;
  credentials: string;
  identity: string;
  edgeKeys: string;
  flags: string;
  receipts: string;
  log: string;
}

export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? (env.TALLY_STATE || ".tally"));
}

export function statePaths(dir: string): StatePaths {
  return {
    dir,
    key: join(dir, "key.json"),
    credentials: join(dir, "credentials.json"),
    identity: join(dir, "identity.json"),
    edgeKeys: join(dir, "edge-keys.json"),
    flags: join(dir, "flags.json"),
    receipts: join(dir, "receipts.jsonl"),
    log: join(dir, "log"),
  };
}
