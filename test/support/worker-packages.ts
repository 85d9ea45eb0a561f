// The packages the Worker imports (worker/ and shared/, subpaths included), pre-bundled for the
// worker test project (vitest.config.ts). One left out is loaded twice in a test's workerd, and its
// classes stop matching instanceof (hono's HTTPException did): test/shared/worker-packages.test.ts
// holds this list to the Worker's actual imports.
export const WORKER_PACKAGES = [
  "hono", "hono/body-limit", "hono/cookie", "hono/http-exception", "@hono/zod-openapi", "zod",
  "drizzle-orm", "drizzle-orm/d1", "drizzle-orm/sqlite-core", "yjs", "lib0/decoding", "lib0/encoding",
  "y-protocols/sync", "@noble/ed25519", "@noble/hashes/sha2.js", "@noble/hashes/utils.js",
  "@scalar/hono-api-reference", "canonicalize", "fflate",
];
