// Test driver: run `parseCommand` in-process and collect what it printed.
import { Writable } from "node:stream";
import { parseCommand } from "../../../collector/commands/parse.ts";

/** What parse printed: its records, its summary (stderr's last JSON line), stderr without the usage
 *  line parse adds after a mistake in the command line, and whether it added one. */
export async function runParse(argv: string[]): Promise<{ code: number; lines: any[]; summary: any; stderr: string; usage: boolean }> {
  let out = "", err = "";
  const sink = (f: (s: string) => void) => new Writable({ write(chunk, _enc, cb) { f(String(chunk)); cb(); } });
  const code = await parseCommand(argv, { stdout: sink((s) => { out += s; }), stderr: sink((s) => { err += s; }) });
  const lines = out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const usage = /(^|\n)usage: tally-collector parse [^\n]*\n$/.exec(err);
  if (usage) err = err.slice(0, usage.index + usage[1]!.length);
  let summary: any;
  try { summary = JSON.parse(err.trim().split("\n").at(-1) ?? "null"); } catch { summary = undefined; }
  return { code, lines, summary, stderr: err, usage: usage !== null };
}
