// The Tally edge's HTTP app: wires the routes (one module per resource). Every route module is
// an `apiRouter()` whose routes are declared with `createRoute` (docs/edge-api.md "Adding a
// route"), so each appears in /openapi.json. Kept apart from index.ts (which also exports the
// ContractDO class) so Node can import the app to check its OpenAPI document.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./env.ts";
import { clock } from "./middleware/clock.ts";
import { keyConfig } from "./auth/edge-key.ts";
import { notFound, onError } from "./on-error.ts";
import { describeApi } from "./openapi/document.ts";
import { validationHook } from "./openapi/router.ts";
import { health } from "./routes/health.ts";
import { keys } from "./routes/keys.ts";
import { vendors } from "./routes/vendors.ts";
import { adminReconcile } from "./routes/admin-reconcile.ts";
import { customers } from "./routes/customers.ts";
import { contracts } from "./routes/contracts.ts";
import { enrollments } from "./routes/enrollments.ts";
import { balance } from "./routes/balance.ts";
import { batches } from "./routes/batches.ts";
import { devBench } from "./routes/dev-bench.ts";
import { collectorDoc } from "./routes/collector-doc.ts";
import { collectorBundles, vendorBundles, vendorReplay } from "./routes/bundles.ts";
import { siteHistory } from "./routes/site-history.ts";
import { contractExport } from "./routes/contract-export.ts";
import { collectorTrust } from "./routes/collector-trust.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { contractCollectors } from "./routes/contract-collectors.ts";
import { contractEnforcement } from "./routes/contract-enforcement.ts";
import { statusLinkRoutes } from "./routes/status-links.ts";
import { status } from "./routes/status.ts";
import { reference } from "./routes/reference.ts";
import { grants } from "./routes/grants.ts";
import { planVersions } from "./routes/plan.ts";
import { statements } from "./routes/statement.ts";
import { usage } from "./routes/usage.ts";
import { alerts } from "./routes/alerts.ts";
import { devWebhookSink } from "./routes/dev-webhook-sink.ts";
import { vendorConsole } from "./console/routes.ts";

export const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
describeApi(app);
app.use(keyConfig());
app.use(clock());
app.route("/health", health);
app.route("/v1/keys", keys);
app.route("/v1/vendors", vendors);
app.route("/v1/admin/contracts", adminReconcile);
app.route("/v1/api-keys", apiKeyRoutes);
app.route("/v1/customers", customers);
app.route("/v1/contracts", contracts);
app.route("/v1/contracts", balance);
app.route("/v1/contracts", contractCollectors);
app.route("/v1/contracts", contractEnforcement);
app.route("/v1", enrollments);
app.route("/v1", statusLinkRoutes);
app.route("/v1/collectors", batches);
app.route("/v1/collectors", collectorDoc);
app.route("/v1/collectors", collectorBundles);
app.route("/v1/collectors", collectorTrust);
app.route("/v1/contracts", vendorBundles);
app.route("/v1/contracts", vendorReplay);
app.route("/v1/contracts", siteHistory);
app.route("/v1/contracts", contractExport);
// Pricing (DESIGN.md §6–§7): grants, plan versions, statements, usage history, alerts.
app.route("/v1/contracts", grants);
app.route("/v1/contracts", planVersions);
app.route("/v1/contracts", statements);
app.route("/v1/contracts", usage);
app.route("/v1/contracts", alerts);
app.route("/status", status);
app.route("/", reference(app));
// Development only (refused in production), not part of the API: not in the OpenAPI document.
app.route("/__dev", devBench);
app.route("/__dev", devWebhookSink);
// The vendor console: HTML pages over the API above (worker/console/), not in the OpenAPI document.
app.route("/console", vendorConsole(app));
app.onError(onError);
app.notFound(notFound);
