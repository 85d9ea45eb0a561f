// Applies an air-gapped bundle's batches in order (DESIGN.md §4), each through the same path as
// an online batch and in its own transaction, stopping at the first refusal: the receipts of the
// batches before it stand, and the error says which batch was refused and why.
import type { ProtocolError, SignedReceipt } from "../../shared/protocol/index.ts";
import type { BatchOutcome } from "./apply-batch.ts";

export interface BundleOutcome {
  receipts: SignedReceipt[];
  /** Batches that added records (not replays). */
  applied: number;
  /** The first refused batch: its protocol error and its index in `batches`. */
  refused?: { index: number; error: ProtocolError };
  /** Why the arrival times given with a replayed history were refused (nothing applied). */
  arrivalRefused?: string;
}

export function applyBundle(batches: readonly unknown[], applyOne: (batch: unknown, index: number) => BatchOutcome): BundleOutcome {
  const outcome: BundleOutcome = { receipts: [], applied: 0 };
  for (const [index, batch] of batches.entries()) {
    const result = applyOne(batch, index);
    if (!result.ok) {
      outcome.refused = { index, error: result.error };
      break;
    }
    outcome.receipts.push(result.body);
    if (!result.replay) outcome.applied++;
  }
  return outcome;
}
