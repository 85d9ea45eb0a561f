// The one error type of the contract doc: a stable `code` the edge maps to an HTTP answer
// (`contractDocErrorStatus`), plus for refusals the `reason` that says which rule was broken.

export const contractDocErrorStatus = {
  /** A collector's update breaks a rule of DESIGN §8; nothing was changed. */
  doc_update_refused: 422,
  /** The body is not a well-formed sync request (or the answer not a well-formed sync answer). */
  malformed_doc_message: 400,
  /** The edge tried to write terms or a balance that is not plain, valid JSON (a programming error). */
  invalid_doc_content: 500,
} as const;

export type ContractDocErrorCode = keyof typeof contractDocErrorStatus;

/** Why a collector's update was refused (`doc_update_refused`). */
export type RefusalReason =
  | "edge_content" // inserts into, or deletes from, `terms` or `balance`
  | "foreign_root" // touches another collector's `site:` root
  | "new_root" // creates a top-level type other than its own `site:` root
  | "foreign_client" // carries structs of a Yjs client id that belongs to another writer
  | "pending_structs" // depends on structs or deletes the edge does not have
  | "schema" // its own site root would not match the site schema
  | "too_large"; // the doc would grow past the size cap

export class ContractDocError extends Error {
  readonly code: ContractDocErrorCode;
  readonly reason: RefusalReason | undefined;
  constructor(code: ContractDocErrorCode, message: string, reason?: RefusalReason) {
    super(message);
    this.name = "ContractDocError";
    this.code = code;
    this.reason = reason;
  }

  /** The `{error, message, reason?}` body of DESIGN §4/§7. */
  toJSON(): { error: ContractDocErrorCode; message: string; reason?: RefusalReason } {
    return this.reason === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, message: this.message, reason: this.reason };
  }
}

export function refused(reason: RefusalReason, message: string): ContractDocError {
  return new ContractDocError("doc_update_refused", message, reason);
}
