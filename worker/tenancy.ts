// A vendor reaches only its own customers and contracts: every lookup by id is scoped by the
// vendor, and another vendor's id answers exactly like an id that does not exist (404).
import { queries, type Database } from "./db/database.ts";
import { contracts, customers } from "./db/schema.ts";
import { EdgeError } from "./errors.ts";

export async function ownContract(db: Database, vendorId: string, id: string): Promise<typeof contracts.$inferSelect> {
  const row = await queries(db).vendorContract.get({ id, vendor: vendorId });
  if (!row) throw new EdgeError("not_found", `no contract ${id}`);
  return row;
}

export async function ownCustomer(db: Database, vendorId: string, id: string): Promise<typeof customers.$inferSelect> {
  const row = await queries(db).vendorCustomer.get({ id, vendor: vendorId });
  if (!row) throw new EdgeError("not_found", `no customer ${id}`);
  return row;
}
