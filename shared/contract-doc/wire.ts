// The body of `POST /v1/collectors/:id/doc` and its answer: concatenated y-protocols sync
// messages, each `varUint type` + `varUint8Array payload` (V1 updates, as y-protocols 1.0.7 frames them).
//   request: SyncStep1(collector state vector) [+ Update(collector's local changes)]
//   answer:  SyncStep2(what the collector lacks)  + SyncStep1(edge state vector)
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate } from "y-protocols/sync";
import * as Y from "yjs";
import { ContractDocError } from "./errors.ts";

export interface SyncRequest {
  /** Yjs V1 state vector of the collector's replica. */
  stateVector: Uint8Array;
  /** Yjs V1 update of the collector's changes the edge may lack; null when it has none. */
  update: Uint8Array | null;
}

export interface SyncAnswer {
  /** Yjs V1 update of everything the collector lacks. */
  update: Uint8Array;
  /** Yjs V1 state vector of the edge's doc after the request was applied. */
  stateVector: Uint8Array;
}

export function encodeSyncRequest(request: SyncRequest): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, messageYjsSyncStep1);
  encoding.writeVarUint8Array(encoder, request.stateVector);
  if (request.update !== null) {
    encoding.writeVarUint(encoder, messageYjsUpdate);
    encoding.writeVarUint8Array(encoder, request.update);
  }
  return encoding.toUint8Array(encoder);
}

/** Accepts SyncStep2 in place of Update too: both carry an update. */
export function decodeSyncRequest(body: Uint8Array): SyncRequest {
  const messages = readMessages(body, "request");
  const [step1, second, extra] = messages;
  if (step1 === undefined || step1.type !== messageYjsSyncStep1 || extra !== undefined ||
      (second !== undefined && second.type !== messageYjsUpdate && second.type !== messageYjsSyncStep2)) {
    throw malformed("a sync request is SyncStep1 optionally followed by one Update");
  }
  checkStateVector(step1.payload);
  return { stateVector: step1.payload, update: second?.payload ?? null };
}

export function encodeSyncAnswer(answer: SyncAnswer): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, messageYjsSyncStep2);
  encoding.writeVarUint8Array(encoder, answer.update);
  encoding.writeVarUint(encoder, messageYjsSyncStep1);
  encoding.writeVarUint8Array(encoder, answer.stateVector);
  return encoding.toUint8Array(encoder);
}

export function decodeSyncAnswer(body: Uint8Array): SyncAnswer {
  const [step2, step1, extra] = readMessages(body, "answer");
  if (step2?.type !== messageYjsSyncStep2 || step1?.type !== messageYjsSyncStep1 || extra !== undefined) {
    throw malformed("a sync answer is SyncStep2 followed by SyncStep1");
  }
  checkStateVector(step1.payload);
  return { update: step2.payload, stateVector: step1.payload };
}

function readMessages(body: Uint8Array, what: string): Array<{ type: number; payload: Uint8Array }> {
  const decoder = decoding.createDecoder(body);
  const out: Array<{ type: number; payload: Uint8Array }> = [];
  try {
    while (decoding.hasContent(decoder) && out.length < 3) {
      const type = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      out.push({ type, payload });
    }
  } catch {
    throw malformed(`the sync ${what} is truncated`);
  }
  if (decoding.hasContent(decoder)) throw malformed(`the sync ${what} has trailing bytes`);
  return out;
}

function checkStateVector(bytes: Uint8Array): void {
  try {
    Y.decodeStateVector(bytes);
  } catch {
    throw malformed("SyncStep1 does not carry a Yjs state vector");
  }
}

function malformed(message: string): ContractDocError {
  return new ContractDocError("malformed_doc_message", message);
}
