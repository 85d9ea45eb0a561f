// Console sign-in sessions. Signing in with a vendor API key opens a session: the browser gets a
// random secret in an HttpOnly, SameSite=Strict cookie scoped to /console; D1 keeps only the
// secret's hash, the key's id and hash (never the key) and a per-session CSRF token. Every
// request re-checks that the key is still unrevoked, so revoking a key also ends its sessions.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { and, eq, gt, isNull } from "drizzle-orm";
import type { AppEnv } from "../env.ts";
import { database } from "../db/database.ts";
import { apiKeys, consoleSessions } from "../db/schema.ts";
import { hashSecret } from "../auth/secrets.ts";

export const SESSION_COOKIE = "tally_console";
/** Sessions last a working day; signing in again is cheap. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;

export interface ConsoleSession {
  idHash: string;
  vendorId: string;
  apiKeyId: string;
  readOnly: boolean;
  csrfToken: string;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function cookieOptions(c: Context<AppEnv>) {
  // Secure whenever the console is reached over https; plain http only happens on localhost.
  return { path: "/console", httpOnly: true, sameSite: "Strict" as const, secure: new URL(c.req.url).protocol === "https:" };
}

/** Opens a session for the API key, or returns undefined when the key is unknown or revoked. */
export async function openSession(c: Context<AppEnv>, apiKey: string): Promise<ConsoleSession | undefined> {
  const db = database(c.env.DB);
  const keyHash = hashSecret(apiKey);
  const key = await db.select().from(apiKeys).where(and(eq(apiKeys.key_hash, keyHash), isNull(apiKeys.revoked_at))).get();
  if (!key) return undefined;
  const secret = `cs_${randomToken()}`;
  const now = c.get("now");
  const session: ConsoleSession = { idHash: hashSecret(secret), vendorId: key.vendor_id, apiKeyId: key.id, readOnly: key.read_only === 1, csrfToken: randomToken() };
  await db.insert(consoleSessions).values({
    id_hash: session.idHash, vendor_id: key.vendor_id, api_key_id: key.id, key_hash: keyHash,
    csrf_token: session.csrfToken, created_at: now, expires_at: now + SESSION_TTL_MS,
  }).run();
  setCookie(c, SESSION_COOKIE, secret, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  return session;
}

/** The request's live session: cookie known, not expired, and its key still unrevoked. */
export async function currentSession(c: Context<AppEnv>): Promise<ConsoleSession | undefined> {
  const secret = getCookie(c, SESSION_COOKIE);
  if (!secret || !/^cs_[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  const row = await database(c.env.DB)
    .select({ idHash: consoleSessions.id_hash, vendorId: consoleSessions.vendor_id, apiKeyId: consoleSessions.api_key_id, readOnly: apiKeys.read_only, csrfToken: consoleSessions.csrf_token })
    .from(consoleSessions)
    .innerJoin(apiKeys, and(eq(apiKeys.id, consoleSessions.api_key_id), eq(apiKeys.key_hash, consoleSessions.key_hash), isNull(apiKeys.revoked_at)))
    .where(and(eq(consoleSessions.id_hash, hashSecret(secret)), gt(consoleSessions.expires_at, c.get("now"))))
    .get();
  return row ? { ...row, readOnly: row.readOnly === 1 } : undefined;
}

export async function closeSession(c: Context<AppEnv>, session: ConsoleSession | undefined): Promise<void> {
  if (session) await database(c.env.DB).delete(consoleSessions).where(eq(consoleSessions.id_hash, session.idHash)).run();
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}
