// Interned names (daemons, features, users, hosts): one string per distinct name. A name cut out of
// a 1 MB chunk of log would otherwise keep the whole chunk alive for as long as a session holding
// it stays open, and equal names would be hashed afresh for every lookup.

const MAX_NAMES = 200_000;

export class NameTable {
  private readonly names = new Map<string, string>();

  intern(name: string): string {
    return this.names.get(name) ?? this.#add(detached(name));
  }

  /** As `intern`, for a name just built by `join` (a key): it shares no memory with any text, so it is kept as it is. */
  internBuilt(name: string): string {
    return this.names.get(name) ?? this.#add(name);
  }

  #add(name: string): string {
    if (this.names.size >= MAX_NAMES) this.names.clear();
    this.names.set(name, name);
    return name;
  }
}

/** A copy of `name` that shares no memory with the text it was cut from. */
export function detached(name: string): string {
  return (" " + name).slice(1);
}
