// `init --server URL --enroll TOKEN --site NAME [--attempts N]` (enrollment tries, default 3): make
// the key pair, enroll, write the state dir.
// The key is written (0600) before the edge ever sees its public half, and reused if a previous
// init failed after making it, so a retried init never orphans an enrolled key.
import { mkdir } from "node:fs/promises";
import { generateKeyPair, publicKeyOf, sha256Hex } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { SegmentLog } from "../log/segment-log.ts";
import { asCollectorError } from "../site.ts";
import { EdgeUnreachable, defaultBackoff, withBackoff } from "../sync/backoff.ts";
import { EdgeClient } from "../sync/edge-client.ts";
import { mergeEdgeKeys, normaliseEdgeKeys } from "../state/edge-keys.ts";
import { loadKey, saveIdentity, saveKey } from "../state/identity.ts";
import { readJsonFile } from "../state/json-file.ts";
import { integerOption, parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const initUsage = "init --server URL --enroll TOKEN --site NAME [--attempts N] [--state DIR] [--json]";

interface EnrollAnswer { collector_id: string; contract_id: string; edge_public_keys: unknown; collector_token: string; scope?: unknown }

export async function initCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { server: { type: "string" }, enroll: { type: "string" }, site: { type: "string" }, attempts: { type: "string" } }, initUsage);
  const server = requireOption(values.server, "server", initUsage).replace(/\/+$/, "");
  const token = requireOption(values.enroll, "enroll", initUsage);
  const site = requireOption(values.site, "site", initUsage);
  if (!/^https?:\/\/[^/]+/.test(server)) throw new CollectorError("usage", `--server must be an http(s) URL, got ${server}`);
  const paths = stateFrom(values, io.env);
  if (await readJsonFile(paths.identity)) throw new CollectorError("already_initialised", `${paths.dir} is already enrolled; use another --state dir`);

  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  let key;
  try {
    key = await loadKey(paths);
  } catch (e) {
    if (!(e instanceof CollectorError && e.code === "not_initialised")) throw e;
    const pair = generateKeyPair();
    key = { secret_key: pair.secretKey, public_key: pair.publicKey };
    await saveKey(paths, key);
  }
  if (publicKeyOf(key.secret_key) !== key.public_key) throw new CollectorError("bad_state", `${paths.key}: public key does not match the secret key`);

  const client = new EdgeClient(server);
  const policy = { ...defaultBackoff, maxAttempts: integerOption(values.attempts, "attempts", 3, 1) };
  let reply;
  try {
    // Same key pair on a retried init ⇒ same Idempotency-Key ⇒ the edge replays its answer. Derived
    // from the secret, so nobody else can claim the stored answer (it holds the collector token).
    const idempotencyKey = `enroll-${sha256Hex(new TextEncoder().encode(`tally/enroll-idempotency\n${key.secret_key}`)).slice(0, 40)}`;
    reply = await withBackoff(() => client.enroll({ enrollment_token: token, public_key: key.public_key, site }, idempotencyKey), { policy, random: Math.random });
  } catch (e) {
    if (e instanceof EdgeUnreachable) throw new CollectorError("edge_unreachable", `cannot enroll: ${e.reason}`);
    throw e;
  }
  if (reply.status !== 200 && reply.status !== 201) {
    const body = reply.body as { error?: string; message?: string } | null;
    throw new CollectorError("enroll_refused", `enrollment refused: HTTP ${reply.status} ${body?.error ?? ""} ${body?.message ?? ""}`.trim(), { status: reply.status, edge_error: body?.error });
  }
  const answer = reply.body as EnrollAnswer;
  if (typeof answer?.collector_id !== "string" || typeof answer.collector_token !== "string") {
    throw new CollectorError("enroll_refused", `enrollment answer lacks collector_id/collector_token: ${JSON.stringify(answer).slice(0, 200)}`);
  }
  const edgeKeys = await mergeEdgeKeys(paths, normaliseEdgeKeys(answer.edge_public_keys ?? []), [], Date.now());
  await saveIdentity(paths, {
    collector_id: answer.collector_id, contract_id: answer.contract_id, server, site, scope: answer.scope ?? null,
    enrolled_at: new Date().toISOString(),
  }, answer.collector_token);
  try {
    const { log } = await SegmentLog.open(paths.log);
    await log.close();
  } catch (e) {
    throw asCollectorError(e);
  }

  const json = { ok: true, state: paths.dir, collector_id: answer.collector_id, contract_id: answer.contract_id, site, public_key: key.public_key, edge_keys: edgeKeys.map((k) => k.key_id) };
  return { exit: 0, json, text: `enrolled ${answer.collector_id} (site ${site}, contract ${answer.contract_id}); state in ${paths.dir}\n` };
}
