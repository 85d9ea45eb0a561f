// Where tests find the team's real fixtures (../shared/fixtures beside the clone, as in CI) and
// this repo's synthetic ones (test/fixtures).
import { fileURLToPath } from "node:url";

export const sharedFixtures = fileURLToPath(new URL("../../../../shared/fixtures/", import.meta.url));
export const syntheticFixtures = fileURLToPath(new URL("../../../test/fixtures/", import.meta.url));
