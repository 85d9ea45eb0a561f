// An edge key as lists and state files name it ({key_id, public_key}), from a key pair: the
// tests of edge-key rotation, endorsement and revocation build their lists from these.
import { keyIdOf } from "../../shared/protocol/index.ts";

export function edgeKeyRef(k: { publicKey: string }): { key_id: string; public_key: string } {
  return { key_id: keyIdOf(k.publicKey), public_key: k.publicKey };
}
