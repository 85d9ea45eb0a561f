// drizzle-kit: generates SQL migrations into drizzle/ from worker/db/schema.ts. Apply them with
// `wrangler d1 migrations apply DB` (never `drizzle-kit push`).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "worker/db/schema.ts",
  out: "drizzle",
});
