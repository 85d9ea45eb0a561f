// What the site lets leave it (DESIGN.md §5), applied to every record body before it is appended:
// - scope: usage and denials of features outside the contract's scope are not appended at all —
//   they never reach the log, so never the edge — and are counted (status, metrics);
// - privacy.pseudonymise: user and host become keyed pseudonyms (state/pseudonyms.ts), and the
//   session id (derived from the real names) a keyed hash of itself.
// The scope is the contract doc's (terms.scope, refreshed at every doc sync) once the site has
// pulled the doc, else the one learnt at enrollment; absent (null) means everything.
import type { Identity } from "../state/identity.ts";
import { Pseudonyms } from "../state/pseudonyms.ts";
import type { StatePaths } from "../state/state-dir.ts";
import { openReplica } from "../contract-doc/replica-file.ts";
import type { RecordBody } from "../sessions/records.ts";

export interface ScopeEntry { daemon: string; features: string[] }

export interface PolicyResult {
  kept: RecordBody[];
  outOfScope: number;
}

export class SitePolicy {
  #scope: ScopeEntry[] | null;
  readonly pseudonyms: Pseudonyms | null;

  constructor(scope: ScopeEntry[] | null, pseudonyms: Pseudonyms | null) {
    this.#scope = scope;
    this.pseudonyms = pseudonyms;
  }

  /**
   * The site's policy: scope from the doc replica or the enrollment; pseudonyms when asked for —
   * and, when the config does not say, when this site made a privacy key before: a config rewritten
   * or copied without `privacy` does not start sending the names it kept at the site in clear.
   */
  static async load(paths: StatePaths, identity: Identity, privacy: { pseudonymise?: boolean }): Promise<SitePolicy> {
    const pseudonyms = privacy.pseudonymise === false ? null : await Pseudonyms.open(paths, { create: privacy.pseudonymise === true });
    return new SitePolicy(currentScope(paths, identity), pseudonyms);
  }

  scope(): ScopeEntry[] | null {
    return this.#scope;
  }

  setScope(scope: ScopeEntry[] | null): void {
    this.#scope = scope;
  }

  inScope(daemon: string, feature: string): boolean {
    if (this.#scope === null) return true;
    return this.#scope.some((s) => s.daemon === daemon && (s.features.includes("*") || s.features.includes(feature)));
  }

  apply(bodies: RecordBody[]): PolicyResult {
    const kept: RecordBody[] = [];
    let outOfScope = 0;
    for (const body of bodies) {
      if (body.kind === "heartbeat") {
        kept.push(body);
        continue;
      }
      if (!this.inScope(body.data.daemon, body.data.feature)) {
        outOfScope++;
        continue;
      }
      kept.push(this.pseudonyms ? this.#pseudonymise(body, this.pseudonyms) : body);
    }
    return { kept, outOfScope };
  }

  /** Makes the names behind new pseudonyms revealable; call before appending what `apply` kept. */
  async persist(): Promise<void> {
    await this.pseudonyms?.persist();
  }

  #pseudonymise(body: Exclude<RecordBody, { kind: "heartbeat" }>, p: Pseudonyms): RecordBody {
    const user = p.of("user", body.data.user);
    const host = p.of("host", body.data.host);
    if (body.kind === "denial") return { kind: "denial", data: { ...body.data, user, host } };
    return { kind: "usage", data: { ...body.data, user, host, session: p.session(body.data.session) } };
  }
}

/** terms.scope of the doc replica when the site has pulled terms, else the enrollment's. */
export function currentScope(paths: StatePaths, identity: Identity): ScopeEntry[] | null {
  const terms = openReplica(paths, identity.collector_id).read().terms;
  return parseScope("scope" in terms ? terms.scope : identity.scope);
}

function parseScope(raw: unknown): ScopeEntry[] | null {
  if (!Array.isArray(raw)) return null;
  return raw.filter((s): s is ScopeEntry => typeof s?.daemon === "string" && Array.isArray(s.features) && s.features.every((f: unknown) => typeof f === "string"));
}
