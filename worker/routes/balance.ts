// GET /v1/contracts/:id/balance (vendor key): the live balance, read from the ContractDO.
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { database } from "../db/database.ts";
import { ownContract } from "../tenancy.ts";
import { contractStub } from "../contract/stub.ts";

export const balance = new Hono<AppEnv>().get("/:id/balance", vendorAuth(), async (c) => {
  const contract = await ownContract(database(c.env.DB), c.get("vendorId"), c.req.param("id"));
  return c.json(await contractStub(c.env, contract.id).balance(c.get("now")));
});
