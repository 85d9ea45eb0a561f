// Public ids with a type prefix (`ctr_…`, `col_…`). The hex time prefix makes ids sort by
// creation, which is what list cursors page over; the random tail makes them unguessable.
export type IdPrefix = "ven" | "key" | "cus" | "ctr" | "enr" | "col" | "stl" | "grt" | "evt";

export function newId(prefix: IdPrefix): string {
  const random = crypto.getRandomValues(new Uint8Array(10));
  const time = Date.now().toString(16).padStart(12, "0");
  return `${prefix}_${time}${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
