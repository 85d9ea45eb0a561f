// Site-held pseudonyms for user and host names (DESIGN.md §5, `privacy.pseudonymise: true`):
// HMAC-SHA256 under a 32-byte key that never leaves the site (`privacy-key.json`, 0600). The same
// name always gives the same pseudonym, so the edge still counts users and hosts; only this site
// can map one back (`collector reveal`), from `pseudonyms.jsonl` — one line per name, appended and
// fsynced before any record carrying its pseudonym is appended. Session ids, which the tracker
// derives from the real names, are keyed the same way so they reveal nothing either.
import { createHmac, randomBytes } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CollectorError } from "../errors.ts";
import { readJsonFile, writeJsonFile } from "./json-file.ts";
import type { StatePaths } from "./state-dir.ts";

const KEY_FORMAT = "tally-privacy-key/v1";
export type NameKind = "user" | "host";
const PREFIX: Record<NameKind, string> = { user: "u_", host: "h_" };

export function privacyKeyPath(paths: StatePaths): string {
  return join(paths.dir, "privacy-key.json");
}

/** Whether this state dir has pseudonymised names (its privacy key exists). */
export async function hasPrivacyKey(paths: StatePaths): Promise<boolean> {
  return (await readJsonFile(privacyKeyPath(paths))) !== undefined;
}

export function pseudonymsPath(paths: StatePaths): string {
  return join(paths.dir, "pseudonyms.jsonl");
}

export class Pseudonyms {
  readonly #key: Buffer;
  readonly #path: string;
  /** pseudonym → the name it stands for. */
  readonly #known = new Map<string, { kind: NameKind; name: string }>();
  #unsaved: string[] = [];
  /** The file ends in a torn line (a crash mid-append): the next write starts on a new line. */
  #torn = false;

  private constructor(key: Buffer, path: string) {
    this.#key = key;
    this.#path = path;
  }

  /** Loads (or, with `create`, makes on first use) the site's key and the names mapped so far. */
  static async open(paths: StatePaths, options: { create: boolean }): Promise<Pseudonyms | null> {
    let raw = await readJsonFile<{ format?: string; key?: string }>(privacyKeyPath(paths));
    if (!raw) {
      if (!options.create) return null;
      raw = { format: KEY_FORMAT, key: randomBytes(32).toString("hex") };
      await writeJsonFile(privacyKeyPath(paths), raw, 0o600);
    }
    if (raw.format !== KEY_FORMAT || typeof raw.key !== "string" || !/^[0-9a-f]{64}$/.test(raw.key)) {
      throw new CollectorError("bad_state", `${privacyKeyPath(paths)} is not a ${KEY_FORMAT} file`);
    }
    const pseudonyms = new Pseudonyms(Buffer.from(raw.key, "hex"), pseudonymsPath(paths));
    await pseudonyms.#load();
    return pseudonyms;
  }

  /** The pseudonym of a user or host name (stable for this site's key). */
  of(kind: NameKind, name: string): string {
    const pseudonym = PREFIX[kind] + this.#mac(`${kind}\n${name}`).slice(0, 16);
    if (!this.#known.has(pseudonym)) {
      this.#known.set(pseudonym, { kind, name });
      this.#unsaved.push(JSON.stringify({ pseudonym, kind, name }));
    }
    return pseudonym;
  }

  /** A session id that does not reveal the names it was derived from. */
  session(id: string): string {
    return this.#mac(`session\n${id}`).slice(0, 32);
  }

  reveal(pseudonym: string): { kind: NameKind; name: string } | undefined {
    return this.#known.get(pseudonym);
  }

  /** Writes the names mapped since the last call (before the records that carry them). */
  async persist(): Promise<void> {
    if (this.#unsaved.length === 0) return;
    const lines = (this.#torn ? "\n" : "") + this.#unsaved.join("\n") + "\n";
    const handle = await open(this.#path, "a", 0o600);
    try {
      await handle.writeFile(lines, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.#unsaved = [];
    this.#torn = false;
  }

  #mac(text: string): string {
    return createHmac("sha256", this.#key).update(text, "utf8").digest("hex");
  }

  async #load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    this.#torn = text !== "" && !text.endsWith("\n");
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        const entry = JSON.parse(line) as { pseudonym: string; kind: NameKind; name: string };
        this.#known.set(entry.pseudonym, { kind: entry.kind, name: entry.name });
      } catch {
        // A torn last line (crash mid-append): its records were never appended, the name comes back.
      }
    }
  }
}
