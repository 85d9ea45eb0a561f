// The contract doc (DESIGN §8): a Y.Doc of terms, balance and site roots, replicated from each
// ContractDO to its collectors. Pure: runs in workerd and in Node. Format and rules: README.md.
export * from "./errors.ts";
export * from "./schema.ts";
export * from "./write.ts";
export * from "./read.ts";
export * from "./admission.ts";
export * from "./wire.ts";
export * from "./storage.ts";
export * from "./server.ts";
export * from "./replica.ts";
