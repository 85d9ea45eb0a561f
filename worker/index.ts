// The Tally edge Worker: wires the routes (one module per resource) and exports ContractDO.
import { Hono } from "hono";
import type { AppEnv, Env } from "./env.ts";
import { clock } from "./middleware/clock.ts";
import { notFound, onError } from "./on-error.ts";
import { health } from "./routes/health.ts";
import { keys } from "./routes/keys.ts";
import { vendors } from "./routes/vendors.ts";
import { customers } from "./routes/customers.ts";
import { contracts } from "./routes/contracts.ts";
import { enrollments } from "./routes/enrollments.ts";
import { balance } from "./routes/balance.ts";
import { batches } from "./routes/batches.ts";
import { devBench } from "./routes/dev-bench.ts";
import { collectorDoc } from "./routes/collector-doc.ts";
import { collectorBundles, vendorBundles } from "./routes/bundles.ts";
import { collectorTrust } from "./routes/collector-trust.ts";

export { ContractDO } from "./contract/contract-do.ts";

const app = new Hono<AppEnv>()
  .use(clock())
  .route("/health", health)
  .route("/v1/keys", keys)
  .route("/v1/vendors", vendors)
  .route("/v1/customers", customers)
  .route("/v1/contracts", contracts)
  .route("/v1/contracts", balance)
  .route("/v1", enrollments)
  .route("/v1/collectors", batches)
  .route("/v1/collectors", collectorDoc)
  .route("/v1/collectors", collectorBundles)
  .route("/v1/collectors", collectorTrust)
  .route("/v1/contracts", vendorBundles)
  .route("/__dev", devBench);
app.onError(onError);
app.notFound(notFound);

export default app satisfies ExportedHandler<Env>;
