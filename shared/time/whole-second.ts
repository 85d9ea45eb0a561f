// Times cut to whole seconds, in ms: what the protocol signs (DESIGN.md §4) and the API shows (§7).
export function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
