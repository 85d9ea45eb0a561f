// Autodesk packages (FORMATS.md §1.3, §2.5): adskflex logs a package and its component for one
// checkout (OUT package, OUT component at the same second for the same user@host; IN in reverse
// order). We report the component (the product actually used) and pair the package silently.
// Features named in `package_features` are always treated so, in any daemon. To see the pair, an
// adskflex OUT/DENIED is held until the next usage event (in a live tail: until the next event).
import type { SourceEvent } from "./events.ts";

const AUTODESK_DAEMONS = new Set(["adskflex"]);

export interface PackageFilterState {
  held: SourceEvent | null;
  /** Open package checkouts not reported, per daemon|feature|user|host: their check-ins are not reported either. */
  suppressed: Record<string, number>;
  lines: number;
}

export type UsageEvent = Extract<SourceEvent, { type: "checkout" | "checkin" | "denial" }>;
type Usage = UsageEvent;

export class PackageFilter {
  private readonly packages: Set<string>;
  private s: PackageFilterState = { held: null, suppressed: {}, lines: 0 };
  private suppressedOpen = 0;

  constructor(packageFeatures: string[] = []) {
    this.packages = new Set(packageFeatures);
  }

  /** Package lines not reported so far. */
  get lines(): number {
    return this.s.lines;
  }

  /** Pass a dated usage event on (into `out`), hold it, or drop it as a package line. */
  push(event: Usage, out: SourceEvent[]): void {
    const s = this.s;
    const held = s.held;
    if (held !== null) {
      s.held = null;
      if (isComponentOf(held, event)) {
        s.lines++;
        if (held.type === "checkout") this.suppress(keyOf(held as Usage));
        out.push(event);
        return;
      }
      out.push(held);
    }
    if (this.packages.size > 0 && this.packages.has(event.feature)) {
      s.lines++;
      const key = keyOf(event);
      if (event.type === "checkout") this.suppress(key);
      else if (event.type === "checkin") this.unsuppress(key);
      return;
    }
    if (event.type === "checkin") {
      if (this.suppressedOpen > 0 && this.unsuppress(keyOf(event))) {
        s.lines++;
        return;
      }
    } else if (AUTODESK_DAEMONS.has(event.daemon)) {
      s.held = event; // wait one event: is it a package followed by its component?
      return;
    }
    out.push(event);
  }

  /** Whether a checkout or check-in of `daemon` pushed now would go out as it is (nothing held, no packages, nothing suppressed). */
  passes(checkin: boolean, daemon: string): boolean {
    return this.s.held === null && this.packages.size === 0 && !AUTODESK_DAEMONS.has(daemon) && (!checkin || this.suppressedOpen === 0);
  }

  /** Anything else happened (a restart, the end of input): a held event is not a package. */
  release(out: SourceEvent[]): void {
    const held = this.s.held;
    if (held !== null) {
      this.s.held = null;
      out.push(held);
    }
  }

  save(): PackageFilterState {
    return structuredClone(this.s);
  }

  restore(state: PackageFilterState): void {
    this.s = structuredClone(state);
    this.suppressedOpen = Object.values(this.s.suppressed).reduce((a, b) => a + b, 0);
  }

  private suppress(key: string): void {
    this.s.suppressed[key] = (this.s.suppressed[key] ?? 0) + 1;
    this.suppressedOpen++;
  }

  private unsuppress(key: string): boolean {
    const n = this.s.suppressed[key];
    if (n === undefined) return false;
    if (n <= 1) delete this.s.suppressed[key];
    else this.s.suppressed[key] = n - 1;
    this.suppressedOpen--;
    return true;
  }
}

function keyOf(e: Usage): string {
  return `${e.daemon}|${e.feature}|${e.user}|${e.host}`;
}

function isComponentOf(held: SourceEvent, next: Usage): boolean {
  if (held.type !== "checkout" && held.type !== "denial") return false;
  if (next.type !== held.type) return false;
  return next.at === held.at && next.daemon === held.daemon && next.user === held.user && next.host === held.host && next.feature !== held.feature;
}
