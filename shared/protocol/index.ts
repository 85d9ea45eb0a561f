// Protocol v1 (DESIGN.md §4): everything the collector and the edge must agree on.
export * from "./codes.ts";
export * from "./canonical.ts";
export * from "./strict-json.ts";
export * from "./schema.ts";
export * from "./signing.ts";
export * from "./verify-batch.ts";
export * from "./chain.ts";
export * from "./rateable.ts";
export * from "./verify-bundle.ts";
export * from "./edge-keys.ts";
