// Test driver: run `parseCommand` in-process and collect what it printed.
import { Writable } from "node:stream";
import { parseCommand } from "../../../collector/commands/parse.ts";

export async function runParse(argv: string[]): Promise<{ code: number; lines: any[]; summary: any; stderr: string }> {
  let out = "", err = "";
  const sink = (f: (s: string) => void) => new Writable({ write(chunk, _enc, cb) { f(String(chunk)); cb(); } });
  const code = await parseCommand(argv, { stdout: sink((s) => { out += s; }), stderr: sink((s) => { err += s; }) });
  const lines = out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  let summary: any;
  try { summary = JSON.parse(err.trim().split("\n").at(-1) ?? "null"); } catch { summary = undefined; }
  return { code, lines, summary, stderr: err };
}
