// The bundled collector run as a process of its own with its memory measured: peak RSS (the
// process's own maxRSS) and peak V8 heap, sampled every 20 ms by a probe loaded with --import.
// For the benches that show memory does not grow with a backlog (collector-export, collector-trip).
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface MeasuredRun { stdout: string; stderr: string; mem: { maxRSS: number; heap: number } }

/** Writes the probe into `dir`; returns a runner of `script` with it (exits non-zero throw, with stderr). */
export async function measuredCollector(script: string, dir: string): Promise<(args: string[]) => Promise<MeasuredRun>> {
  const probe = join(dir, "mem-probe.mjs");
  await writeFile(probe, [
    'import { writeFileSync } from "node:fs";',
    "let heap = 0;",
    "setInterval(() => { heap = Math.max(heap, process.memoryUsage().heapUsed); }, 20).unref();",
    'process.on("exit", () => { heap = Math.max(heap, process.memoryUsage().heapUsed); writeFileSync(process.env.MEM_OUT, JSON.stringify({ maxRSS: process.resourceUsage().maxRSS, heap })); });',
  ].join("\n") + "\n");
  const memFile = join(dir, "mem.json");
  return async (args) => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", probe, script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MEM_OUT: memFile } });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
      child.stderr.on("data", (d: Buffer) => { err = (err + d.toString()).slice(-1_000_000); });
      child.once("error", reject);
      child.once("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) throw new Error(`${args[0]} exited ${code}: ${stderr.slice(-4000)}`);
    return { stdout, stderr, mem: JSON.parse(await readFile(memFile, "utf8")) };
  };
}
