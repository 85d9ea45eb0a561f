// The site's identity: its key pair (0600), its enrollment, and the collector_token (0600).
import { chmod, stat } from "node:fs/promises";
import { CollectorError } from "../errors.ts";
import { readJsonFile, writeJsonFile } from "./json-file.ts";
import type { StatePaths } from "./state-dir.ts";

const KEY_FORMAT = "tally-collector-key/v1";
const IDENTITY_FORMAT = "tally-collector-identity/v1";

export interface SiteKey { secret_key: string; public_key: string }

export interface Identity {
  collector_id: string;
  contract_id: string;
  /** Edge base URL, without a trailing slash. */
  server: string;
  site: string;
  scope: unknown;
  enrolled_at: string;
}

export async function saveKey(paths: StatePaths, key: SiteKey): Promise<void> {
  await writeJsonFile(paths.key, { format: KEY_FORMAT, ...key }, 0o600);
  await chmod(paths.key, 0o600); // a pre-existing file keeps its mode through open(); make sure
}

export async function loadKey(paths: StatePaths): Promise<SiteKey> {
  const raw = await readJsonFile<{ format?: string; secret_key?: unknown; public_key?: unknown }>(paths.key);
  if (!raw) throw new CollectorError("not_initialised", `no key in ${paths.dir}: run \`init\` first`);
  if (raw.format !== KEY_FORMAT || typeof raw.secret_key !== "string" || typeof raw.public_key !== "string") {
    throw new CollectorError("bad_state", `${paths.key} is not a ${KEY_FORMAT} file`);
  }
  const mode = (await stat(paths.key)).mode & 0o777;
  // Windows has no POSIX modes (stat says 0666 for any writable file): there the state dir's
  // ACL protects the key (deploy/windows/install-service.ps1 grants the service account only).
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new CollectorError("bad_state", `${paths.key} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  return { secret_key: raw.secret_key, public_key: raw.public_key };
}

export async function saveIdentity(paths: StatePaths, identity: Identity, collectorToken: string): Promise<void> {
  await writeJsonFile(paths.credentials, { collector_token: collectorToken }, 0o600);
  await writeJsonFile(paths.identity, { format: IDENTITY_FORMAT, ...identity });
}

export async function loadIdentity(paths: StatePaths): Promise<Identity> {
  const raw = await readJsonFile<Identity & { format?: string }>(paths.identity);
  if (!raw) throw new CollectorError("not_initialised", `${paths.dir} is not an enrolled state dir: run \`init\` first`);
  if (raw.format !== IDENTITY_FORMAT || typeof raw.collector_id !== "string" || typeof raw.server !== "string") {
    throw new CollectorError("bad_state", `${paths.identity} is not a ${IDENTITY_FORMAT} file`);
  }
  const { format: _format, ...identity } = raw;
  return identity;
}

export async function loadCollectorToken(paths: StatePaths): Promise<string> {
  const raw = await readJsonFile<{ collector_token?: unknown }>(paths.credentials);
  if (typeof raw?.collector_token !== "string") throw new CollectorError("not_initialised", `no collector token in ${paths.dir}`);
  return raw.collector_token;
}
