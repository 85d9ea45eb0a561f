// The record the kill-loop child writes as entry `seq`, so the parent can check every byte.
export const KILL_LOOP_SEGMENT_BYTES = 4096;

export function killLoopPayload(seq: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ kind: "usage", seq, pad: "x".repeat((seq * 7919) % 301) }));
}
