// The Tally edge Worker: the HTTP app (app.ts) and the ContractDO class.
import type { Env } from "./env.ts";
import { app } from "./app.ts";

export { ContractDO } from "./contract/contract-do.ts";

export default app satisfies ExportedHandler<Env>;
