// Four projects: "worker" and "worker-fresh" run inside workerd with real D1 and Durable Objects;
// "node" runs shared code, the collector and the end-to-end tests (which start real processes);
// "reliability" the fault, crash and tamper suites.
import { configDefaults, defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { LongestFirst } from "./test/support/longest-first.ts";
import { WORKER_PACKAGES } from "./test/support/worker-packages.ts";

const MIGRATIONS = await readD1Migrations("drizzle");

/** Worker files that must have a workerd, and so a D1, of their own (see the "worker" project). */
const FRESH_WORKER_FILES = [
  "test/worker/reliability/**/*.test.ts",
  "test/worker/d1-migration.test.ts",
  "test/worker/usage-coarse.test.ts",
];

/** A project whose files run inside workerd with real D1 and Durable Objects. */
function workerProject(options: { name: string; include: string[]; exclude: string[]; isolate: boolean }) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: MIGRATIONS,
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
      ...options,
      exclude: [...configDefaults.exclude, ...options.exclude],
      // A harness limit, not a speed check: under a loaded 2-core machine a workerd test that
      // takes 1 s alone has been seen past vitest's 5 s default.
      testTimeout: 60_000,
      setupFiles: ["test/worker/apply-migrations.ts"],
      // A workerd imports the Worker's whole module graph: its packages pre-bundled into a few
      // modules (instead of hundreds, each a round trip to vite) roughly halve that start. The
      // list is held to the Worker's imports (test/support/worker-packages.ts).
      deps: { optimizer: { ssr: { enabled: true, include: WORKER_PACKAGES } } },
    },
  };
}

export default defineConfig(() => ({
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
      // Most worker files share one workerd per lane (isolate: false): the Worker's module graph is
      // imported once, not once per file (~2.5 s each), and D1 and the Durable Objects carry over
      // from file to file as they do in a long-lived isolate. Files that need the edge to
      // themselves run in "worker-fresh": the state-digest suites (a refused request must change
      // nothing in the whole of D1, which another file's background drains would touch) and the
      // migration tests that drop D1 tables to rebuild an older schema.
      workerProject({ name: "worker", include: ["test/worker/**/*.test.ts"], exclude: FRESH_WORKER_FILES, isolate: false }),
      workerProject({ name: "worker-fresh", include: FRESH_WORKER_FILES, exclude: [], isolate: true }),
      {
        test: {
          name: "node",
          include: ["test/shared/**/*.test.ts", "test/collector/**/*.test.ts", "test/e2e/**/*.test.ts"],
          environment: "node",
          // The collector bundle, a migrated edge state and the Worker bundle for local edges, built
          // once for the run (test/support/run-setup.ts).
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
}));
