// Instants on the API: RFC 3339 UTC with whole seconds (DESIGN.md §7).
export function instant(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
