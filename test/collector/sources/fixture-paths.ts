// Where tests find fixtures: all in test/fixtures (see its SOURCES.md), the real third-party
// samples (copied from the team's shared/fixtures, so a clone alone passes) and the synthetic ones.
import { fileURLToPath } from "node:url";

/** The real samples: test/fixtures/<format>/… */
export const sharedFixtures = fileURLToPath(new URL("../../../test/fixtures/", import.meta.url));
/** The hand-written ones (same folder; README.md and snapshot-README.md list them). */
export const syntheticFixtures = sharedFixtures;
