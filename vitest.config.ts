// Two projects: "worker" runs inside workerd with real D1 and Durable Objects; "node" runs
// shared code, the collector and the end-to-end tests (which start real processes).
import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { LongestFirst } from "./test/support/longest-first.ts";
import { WORKER_PACKAGES } from "./test/support/worker-packages.ts";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("drizzle");
  return {
    test: {
      // Most suites wait on processes (wrangler, collectors, workerd), not the CPU: two files at a
      // time keep a 2-core machine busy without starving either.
      maxWorkers: 2,
      // Longest files first across the projects (test/durations.json), not project by project.
      sequence: { sequencer: LongestFirst },
      // file-times.ts: each file's whole cost, setup and hooks included, for `npm run test:durations`.
      reporters: ["default", "json", "./test/support/file-times.ts"],
      outputFile: { json: "reports/vitest.json" },
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ADMIN_TOKEN: "test-admin-token",
                  // Fixed seed so receipts are reproducible in tests; never used outside tests.
                  EDGE_SIGNING_KEY: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                  TALLY_ENV: "test",
                  // Randomised suites inside workerd cannot read process.env: scale them through bindings.
                  SOAK: process.env.SOAK ?? "",
                  SEED: process.env.SEED ?? "",
                },
              },
            }),
          ],
          test: {
            name: "worker",
            include: ["test/worker/**/*.test.ts"],
            // A harness limit, not a speed check: under a loaded 2-core machine a workerd test that
            // takes 1 s alone has been seen past vitest's 5 s default.
            testTimeout: 60_000,
            setupFiles: ["test/worker/apply-migrations.ts"],
            // Each file gets a fresh workerd, which imports the Worker's whole module graph again:
            // its packages pre-bundled into a few modules (instead of hundreds, each a round trip
            // to vite) roughly halve that per-file start. The list is held to the Worker's imports
            // (test/support/worker-packages.ts).
            deps: { optimizer: { ssr: { enabled: true, include: WORKER_PACKAGES } } },
          },
        },
        {
          test: {
            name: "node",
            include: ["test/shared/**/*.test.ts", "test/collector/**/*.test.ts", "test/e2e/**/*.test.ts"],
            environment: "node",
            // The collector bundle and a migrated edge state, built once for the run (test/support/run-setup.ts).
            globalSetup: ["test/support/run-setup.ts"],
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
        {
          // Fault, crash and tamper suites: a fixed budget in `npm test`, long runs with SOAK=1 (`npm run soak`).
          test: {
            name: "reliability",
            include: ["test/reliability/**/*.test.ts"],
            environment: "node",
            globalSetup: ["test/support/run-setup.ts"],
            testTimeout: 600_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
