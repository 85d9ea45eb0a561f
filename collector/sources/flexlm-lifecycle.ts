// FlexLM debug-log lines about the server rather than usage (FORMATS.md §2.3): the dates they
// state (date anchors) and the restarts they announce.
import { isCalendarDate, type LocalDate } from "./wall-clock.ts";

const TIMESTAMP = /^TIMESTAMP (\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const SYSTEM_DATE = /(?:System Date and Time|Start-Date|^\(@[^)]*\) Time): \w{3} (\w{3}) (\d{1,2}) (\d{4}) /;
const STARTED_ON = /started on .*\((\d{1,2})\/(\d{1,2})\/(\d{4})\)$/;
// Windows lmgrd writes `Started adskflex (pid 4216)`, Unix `Started ansyslmd (internet tcp_port 60198 pid 1962)`;
// after a vendor daemon died with a status lmgrd does not know, it restarts it: `REStarted ABAQUSLM (…)`.
const VENDOR_STARTED = /^(?:RE)?Started (\S+) \((?:internet tcp_port \d+ )?pid \d+\)/;
/** The month names FlexLM's dates write (`Fri Jul 27 2018`), January first. */
export const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The date a message of `daemon` states: `TIMESTAMP M/D/YYYY`, lmgrd's `… started on HOST (…)
 * (M/D/YYYY)`, `Server's System Date and Time: …`, SLOG `Time:` / `Start-Date:`.
 */
export function statedDate(daemon: string, message: string): LocalDate | undefined {
  let y: number, mo: number, d: number;
  let m = message.startsWith("TIMESTAMP ") ? TIMESTAMP.exec(message) : daemon === "lmgrd" ? STARTED_ON.exec(message) : null;
  if (m) [mo, d, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else {
    m = message.includes("Date") || message.startsWith("(@") ? SYSTEM_DATE.exec(message) : null;
    if (!m) return undefined;
    [mo, d, y] = [MONTHS.indexOf(m[1]!) + 1, Number(m[2]), Number(m[3])];
  }
  return isCalendarDate(y, mo, d) ? { year: y, month: mo, day: d } : undefined;
}

/** lmgrd's `… started on HOST (…) (date)`: the whole license server (re)started. */
export function isServerStart(daemon: string, message: string): boolean {
  return daemon === "lmgrd" && STARTED_ON.test(message);
}

/** lmgrd's `[RE]Started VENDOR ([internet tcp_port P ]pid N)`: the vendor daemon it (re)started. */
export function startedVendor(message: string): string | undefined {
  return VENDOR_STARTED.exec(message)?.[1];
}
