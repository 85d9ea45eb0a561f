// Verifies a webhook delivery (DESIGN.md §7): `Tally-Signature: t=…,key_id=…,sig=…` is Ed25519
// over "tally/webhook/v1\n" + t + "\n" + body with the edge key named by key_id (GET /v1/keys).
// Verify the raw body bytes as received — a body parsed and re-serialised is not what was signed.
import { verifyDomain, WEBHOOK_DOMAIN } from "../shared/protocol/signing.ts";
import type { components } from "./openapi.ts";

export type WebhookEvent = components["schemas"]["WebhookEvent"];
export type EdgeKey = components["schemas"]["EdgeKeys"]["keys"][number];

export type WebhookFailure = "malformed_signature" | "unknown_key" | "revoked_key" | "bad_signature" | "stale_timestamp" | "malformed_event";

export class WebhookVerificationError extends Error {
  readonly reason: WebhookFailure;
  constructor(reason: WebhookFailure, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
    this.reason = reason;
  }
}

export interface VerifyOptions {
  /** How far `t` may be from `now`, in seconds (a replayed old delivery is refused). Default 300. */
  toleranceS?: number;
  /** Now, in ms since the epoch (tests). Default `Date.now()`. */
  now?: number;
}

const encoder = new TextEncoder();

/** The event, typed, if the signature holds for one of `edgeKeys` (the `GET /v1/keys` answer or its `keys`); throws otherwise. */
export function verifyWebhook(rawBody: string | Uint8Array, signatureHeader: string | null | undefined, edgeKeys: { keys: EdgeKey[] } | EdgeKey[], options: VerifyOptions = {}): WebhookEvent {
  const { t, keyId, sig } = parseSignature(signatureHeader);
  const key = (Array.isArray(edgeKeys) ? edgeKeys : edgeKeys.keys).find((k) => k.key_id === keyId);
  if (!key) throw new WebhookVerificationError("unknown_key", `no edge key ${keyId} (fetch GET /v1/keys again after a key rotation)`);
  // The edge lists a leaked key with a revocation: whoever holds it can sign deliveries.
  if (key.revocation) throw new WebhookVerificationError("revoked_key", `edge key ${keyId} is revoked (it leaked): the delivery may be forged`);
  const body = typeof rawBody === "string" ? encoder.encode(rawBody) : rawBody;
  const prefix = encoder.encode(`${t}\n`);
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix, 0);
  message.set(body, prefix.length);
  if (!verifyDomain(WEBHOOK_DOMAIN, message, sig, key.public_key)) throw new WebhookVerificationError("bad_signature", "the signature does not match the body");
  const toleranceS = options.toleranceS ?? 300;
  const nowS = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowS - t) > toleranceS) throw new WebhookVerificationError("stale_timestamp", `signed at ${t}, ${nowS - t} s from now (tolerance ${toleranceS} s)`);
  return parseEvent(body);
}

function parseSignature(header: string | null | undefined): { t: number; keyId: string; sig: string } {
  const fields = new Map<string, string>();
  for (const part of (header ?? "").split(",")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const t = fields.get("t"), keyId = fields.get("key_id"), sig = fields.get("sig");
  if (!t || !/^\d{1,12}$/.test(t) || !keyId || !sig || !/^[0-9a-f]{128}$/.test(sig)) {
    throw new WebhookVerificationError("malformed_signature", "Tally-Signature must be t=<seconds>,key_id=<id>,sig=<128 hex>");
  }
  return { t: Number(t), keyId, sig };
}

function parseEvent(body: Uint8Array): WebhookEvent {
  let event: unknown;
  try {
    event = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new WebhookVerificationError("malformed_event", "the signed body is not JSON");
  }
  const e = event as Partial<WebhookEvent> | null;
  if (typeof e !== "object" || e === null || typeof e.event_id !== "string" || typeof e.type !== "string"
    || typeof e.contract_id !== "string" || typeof e.created_at !== "string" || typeof e.data !== "object" || e.data === null) {
    throw new WebhookVerificationError("malformed_event", "the signed body is not a webhook event");
  }
  return event as WebhookEvent;
}
