// Who a FlexLM usage line names — feature, user, host, token-pool product — interned, and cached by
// the text that names them (`"MATLAB" ann@pc1`): one lookup per line instead of cutting out and
// interning each name again.
import { whoOf, type UsageScan, type Who } from "./flexlm-usage-line.ts";
import type { NameTable } from "./name-table.ts";

const MAX_HOLDERS = 100_000;

export class FlexlmHolders {
  private readonly names: NameTable;
  private readonly byText = new Map<string, Who>();

  constructor(names: NameTable) {
    this.names = names;
  }

  /** The names of the scanned holder, or undefined when they make none. */
  of(text: string, scan: UsageScan): Who | undefined {
    if (scan.verbose) return this.intern(whoOf(text, scan)); // the user may come from the verbose part
    const key = text.slice(scan.who, scan.whoEnd);
    let who = this.byText.get(key);
    if (who === undefined) {
      who = this.intern(whoOf(text, scan));
      if (who === undefined) return undefined;
      if (this.byText.size >= MAX_HOLDERS) this.byText.clear();
      this.byText.set(this.names.intern(key), who);
    }
    return who;
  }

  private intern(who: Who | undefined): Who | undefined {
    if (who === undefined) return undefined;
    const names = this.names;
    const interned: Who = { feature: names.intern(who.feature), user: names.intern(who.user), host: names.intern(who.host) };
    if (who.product !== undefined) interned.product = names.intern(who.product);
    return interned;
  }
}
