// Source events packed as numbers, to cross from the parse worker to the session tracker
// (line-parse-worker.ts): a structured clone of event objects costs more than parsing them did
// (~1.3–2.2 µs an event), a Float64Array of their fields moves for nothing (its buffer is
// transferred). Names — daemons, features, users, hosts, handles, products, versions, reasons —
// travel once, as indexes into a table both sides keep; each message carries the names it adds.
// The table is bounded: past MAX_NAMES the packer starts afresh and says so (`reset`), so a verbose
// log with a new handle per checkout keeps memory flat. Events read back hold the same values as the
// source's; the fields it did not set are undefined.
import type { CheckinReason, SourceEvent, UsageWho } from "./events.ts";

/** Numbers per event: type, at, daemon, feature, user, host, count, handle, product, version, reason, presence, id's ordinal. */
const FIELDS = 13;
/** A session id hashed ahead: 32 hex digits, as bytes. */
const ID_BYTES = 32;
const TYPES = ["checkout", "checkin", "denial", "alive", "server_down"] as const;
const CHECKOUT = 0, CHECKIN = 1;
// Which fields an event has (its presence bits).
const DAEMON = 1, FEATURE = 2, USER = 4, HOST = 8, COUNT = 16, HANDLE = 32, PRODUCT = 64, VERSION = 128, REASON = 256;
const HOLDER = DAEMON | FEATURE | USER | HOST;

/** Every field any event may have. */
interface Wide { type: string; at: number; daemon?: string; feature?: string; user?: string; host?: string; count?: number; handle?: string; product?: string; version?: string; reason?: string }
const MAX_NAMES = 100_000;
/** The packer's cache of names by identity has 2^NAME_BITS slots. */
const NAME_BITS = 12;

/** A holder's names' ids, kept with them by `addUsage` (UsageWho.packed): one check instead of three lookups. */
interface WhoIds { table: number; feature: number; user: number; host: number; product: number }

/** One message's worth of packed events. */
export interface EventPack {
  values: Float64Array;
  /** Per event, the session id hashed ahead for it, if any (see `ordinalAt`). */
  ids: Uint8Array;
  events: number;
  /** Names added by this message, after the table was emptied when `reset`. */
  names: string[];
  reset: boolean;
}

export class EventPacker {
  private values: Float64Array;
  private idBytes: Uint8Array;
  private n = 0;
  private readonly ids = new Map<string, number>();
  /**
   * The name last packed in each slot and its id, in front of `ids`: an event names the same few
   * daemons, features, users and hosts again and again, and a slot found from a name's length and
   * end characters and confirmed by identity costs a fraction of a map lookup (five per event).
   */
  private readonly slotNames: Array<string | undefined> = new Array<string | undefined>(1 << NAME_BITS).fill(undefined);
  private readonly slotIds = new Int32Array(1 << NAME_BITS);
  private added: string[] = [];
  private reset = false;
  /** Which table the ids are of: a new one each time it starts afresh (ids kept with a holder's names say which). */
  private table = 0;
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.values = new Float64Array(capacity * FIELDS);
    this.idBytes = new Uint8Array(capacity * ID_BYTES);
  }

  get events(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n === this.capacity;
  }

  /** Adds one event, with the session id hashed ahead for it if `ordinal` ≥ 0 (the caller takes a pack first when `full`). */
  add(event: SourceEvent, ordinal = -1, id = ""): void {
    const type = TYPES.indexOf(event.type as (typeof TYPES)[number]);
    if (type < 0) throw new TypeError(`a line source emitted a ${event.type} event, which does not cross threads`);
    const e = event as Wide;
    const v = this.values, o = this.n++ * FIELDS;
    v[o] = type;
    v[o + 1] = e.at;
    let present = 0;
    if (e.daemon !== undefined) { present |= DAEMON; v[o + 2] = this.id(e.daemon); }
    if (e.feature !== undefined) { present |= FEATURE; v[o + 3] = this.id(e.feature); }
    if (e.user !== undefined) { present |= USER; v[o + 4] = this.id(e.user); }
    if (e.host !== undefined) { present |= HOST; v[o + 5] = this.id(e.host); }
    if (e.count !== undefined) { present |= COUNT; v[o + 6] = e.count; }
    if (e.handle !== undefined) { present |= HANDLE; v[o + 7] = this.id(e.handle); }
    if (e.product !== undefined) { present |= PRODUCT; v[o + 8] = this.id(e.product); }
    if (e.version !== undefined) { present |= VERSION; v[o + 9] = this.id(e.version); }
    if (e.reason !== undefined) { present |= REASON; v[o + 10] = this.id(e.reason); }
    this.end(o, present, ordinal, id);
  }

  /** A checkout or check-in given by its fields (see UsageSink), as `add` packs its event. */
  addUsage(checkin: boolean, at: number, daemon: string, who: UsageWho, count: number, handle: string | undefined, reason: CheckinReason | undefined, ordinal: number, id: string): void {
    const v = this.values, o = this.n++ * FIELDS;
    v[o] = checkin ? CHECKIN : CHECKOUT;
    v[o + 1] = at;
    v[o + 2] = this.id(daemon);
    let ids = who.packed as WhoIds | undefined;
    if (ids === undefined || ids.table !== this.table) who.packed = ids = { table: this.table, feature: this.id(who.feature), user: this.id(who.user), host: this.id(who.host), product: who.product === undefined ? -1 : this.id(who.product) };
    v[o + 3] = ids.feature;
    v[o + 4] = ids.user;
    v[o + 5] = ids.host;
    v[o + 6] = count;
    let present = HOLDER | COUNT;
    if (handle !== undefined) { present |= HANDLE; v[o + 7] = this.id(handle); }
    if (ids.product >= 0) { present |= PRODUCT; v[o + 8] = ids.product; }
    if (reason !== undefined) { present |= REASON; v[o + 10] = this.id(reason); }
    this.end(o, present, ordinal, id);
  }

  private end(o: number, present: number, ordinal: number, id: string): void {
    const v = this.values;
    v[o + 11] = present;
    v[o + 12] = ordinal;
    if (ordinal >= 0) {
      const ids = this.idBytes, at = (this.n - 1) * ID_BYTES;
      for (let i = 0; i < ID_BYTES; i++) ids[at + i] = id.charCodeAt(i);
    }
  }

  /** The events added since the last take (their buffer is the caller's to transfer). */
  take(): EventPack {
    const pack: EventPack = { values: this.values.subarray(0, this.n * FIELDS), ids: this.idBytes.subarray(0, this.n * ID_BYTES), events: this.n, names: this.added, reset: this.reset };
    this.values = new Float64Array(this.capacity * FIELDS);
    this.idBytes = new Uint8Array(this.capacity * ID_BYTES);
    this.n = 0;
    this.added = [];
    this.reset = false;
    if (this.ids.size >= MAX_NAMES) {
      this.ids.clear();
      this.slotNames.fill(undefined);
      this.reset = true;
      this.table++;
    }
    return pack;
  }

  private id(name: string): number {
    const n = name.length;
    const slot = (Math.imul(n ^ (name.charCodeAt(n - 3) << 16), 0x9e3779b1) ^ Math.imul(name.charCodeAt(n - 1) | (name.charCodeAt(n - 2) << 16), 0x85ebca6b)) >>> (32 - NAME_BITS);
    if (this.slotNames[slot] === name) return this.slotIds[slot]!;
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(name, id);
      this.added.push(name);
    }
    this.slotNames[slot] = name;
    this.slotIds[slot] = id;
    return id;
  }
}

export class EventUnpacker {
  private names: string[] = [];
  // One event object per type, filled afresh for each event read (PackedEvents.at).
  private readonly reused = reusedEvents();

  /** A pack's events, with the names it adds taken into the table. */
  open(pack: EventPack): PackedEvents {
    if (pack.reset) this.names = [];
    const names = this.names;
    for (const name of pack.names) names.push(name);
    return new PackedEvents(pack, names, this.reused);
  }
}

/** An object per type (in TYPES' order), each with every field any event may have. */
type Reused = Wide[];

function reusedEvents(): Reused {
  return TYPES.map((type) => ({ type, at: 0, daemon: undefined, feature: undefined, user: undefined, host: undefined, count: undefined, handle: undefined, product: undefined, version: undefined, reason: undefined }));
}

/**
 * A pack's events, read one at a time: `at(i)` fills the one object of its type and returns it, so
 * the session tracker, which keeps none of the events it is fed (it copies what it keeps), reads a
 * whole pack without an object per event: an object each was a quarter of what the tracker's thread
 * allocated (150 MB debug log, backfill's steps: 1.39 GB → 1.00 GB, wall −5 %). Fields an event
 * does not have are undefined there rather than missing.
 */
export class PackedEvents {
  readonly length: number;
  private readonly values: Float64Array;
  private readonly names: string[];
  private readonly reused: Reused;

  constructor(pack: EventPack, names: string[], reused: Reused) {
    this.values = pack.values;
    this.length = pack.events;
    this.names = names;
    this.reused = reused;
  }

  /** Event `i`, valid until the next call. */
  at(i: number): SourceEvent {
    const v = this.values, names = this.names, o = i * FIELDS;
    const present = v[o + 11]!;
    const e = this.reused[v[o]!]!;
    e.at = v[o + 1]!;
    e.daemon = present & DAEMON ? names[v[o + 2]!]! : undefined;
    e.feature = present & FEATURE ? names[v[o + 3]!]! : undefined;
    e.user = present & USER ? names[v[o + 4]!]! : undefined;
    e.host = present & HOST ? names[v[o + 5]!]! : undefined;
    e.count = present & COUNT ? v[o + 6]! : undefined;
    e.handle = present & HANDLE ? names[v[o + 7]!]! : undefined;
    e.product = present & PRODUCT ? names[v[o + 8]!]! : undefined;
    e.version = present & VERSION ? names[v[o + 9]!]! : undefined;
    e.reason = present & REASON ? names[v[o + 10]!]! : undefined;
    return e as SourceEvent;
  }
}

/** The session ids a pack's events had hashed ahead (see sessions/ids-ahead.ts). */
export class PackedIds {
  private readonly values: Float64Array;
  private readonly text: Buffer;

  constructor(pack: EventPack) {
    this.values = pack.values;
    this.text = Buffer.from(pack.ids.buffer, pack.ids.byteOffset, pack.ids.byteLength);
  }

  /** The ordinal event `i` had its session id hashed with, or -1 for none. */
  ordinalAt(i: number): number {
    return this.values[i * FIELDS + 12]!;
  }

  /** That id. */
  idAt(i: number): string {
    return this.text.toString("latin1", i * ID_BYTES, (i + 1) * ID_BYTES);
  }
}
