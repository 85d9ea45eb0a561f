// The edge's receipt-signing key, derived once per isolate from EDGE_SIGNING_KEY.
import { keyIdOf, publicKeyOf } from "../../shared/protocol/index.ts";

export interface EdgeKey { key_id: string; public_key: string; secret_key: string }

let cached: EdgeKey | undefined;

export function edgeKey(seedHex: string): EdgeKey {
  if (cached?.secret_key !== seedHex) {
    const public_key = publicKeyOf(seedHex);
    cached = { key_id: keyIdOf(public_key), public_key, secret_key: seedHex };
  }
  return cached;
}
