// The daemon's config is checked whole and strictly (DESIGN.md §9): an unknown key at any depth is
// refused naming its path, a bad encoding is refused before anything runs, Windows paths are taken
// as they are, and `run --config` turns every refusal into exit 2 with code bad_config.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRunConfig, loadRunConfig } from "../../../collector/daemon/run-config.ts";
import { cli, enrolledState } from "../cli/cli-io.ts";

const source = { name: "lmgrd", kind: "flexlm-debuglog", file: "/var/log/lmgrd.log", timezone: "UTC" };
const refused = (raw: unknown) => {
  try {
    checkRunConfig(raw, "/etc/tally");
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  return null;
};

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-config-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("run config", () => {
  it("fills the documented defaults: cut_s 3600 (DESIGN.md §4), heartbeat 300 s, sync 60 s, utf-8, start at the beginning", () => {
    expect(checkRunConfig({ sources: [source] })).toEqual({
      sources: [{ ...source, interval_s: 10, timezone_given: true, encoding: "utf-8", encoding_given: false, start_at: "beginning" }],
      cut_s: 3600, heartbeat_s: 300, sync_s: 60, privacy: {},
    });
  });

  it.each([
    [{ sources: [source], cut_S: 60 }, "unknown key cut_S"],
    [{ sources: [{ ...source, timezon: "UTC" }] }, "unknown key sources[0].timezon"],
    [{ sources: [source, { ...source, name: "b", encodng: "latin1" }] }, "unknown key sources[1].encodng"],
    [{ sources: [source], privacy: { pseudonymize: true } }, "unknown key privacy.pseudonymize"],
    [{ sources: [source], enforce: { kind: "flexlm", options_file: "MLM.opt", reread: ["lmreread"], rereed: [] } }, "unknown key enforce.rereed"],
  ])("refuses an unknown key at any depth, naming its path (%#)", (raw, message) => {
    expect(refused(raw)).toEqual({ code: "bad_config", message: expect.stringContaining(message) });
  });

  it("enforce (site-side enforcement): strict, with a relative options file resolved against the config's folder", () => {
    expect(checkRunConfig({ sources: [source], enforce: { kind: "rlm", options_file: "isv.opt", reread: ["rlmreread"] } }, "/etc/tally").enforce)
      .toEqual({ kind: "rlm", options_file: "/etc/tally/isv.opt", reread: ["rlmreread"], reread_timeout_s: 60 });
    expect(checkRunConfig({ sources: [source], enforce: { kind: "flexlm", options_file: "/opt/MLM.opt", reread: ["lmreread", "-c", "/opt/l.dat"], reread_timeout_s: 5, features: ["MATLAB"] } }).enforce)
      .toEqual({ kind: "flexlm", options_file: "/opt/MLM.opt", reread: ["lmreread", "-c", "/opt/l.dat"], reread_timeout_s: 5, features: ["MATLAB"] });
    expect(refused({ sources: [source], enforce: { kind: "sentinel", options_file: "x", reread: ["x"] } })?.message).toMatch(/enforce\.kind: must be "flexlm" or "rlm"/);
    expect(refused({ sources: [source], enforce: { kind: "flexlm", options_file: "x", reread: [] } })?.message).toMatch(/enforce\.reread: must be the reread command as an argv array/);
    expect(refused({ sources: [source], enforce: { kind: "flexlm", options_file: "x", reread: "lmreread -c x" } })?.message).toMatch(/enforce\.reread/);
    expect(refused({ sources: [source], enforce: { kind: "flexlm", reread: ["x"] } })?.message).toMatch(/enforce\.options_file/);
    expect(refused({ sources: [source], enforce: { kind: "flexlm", options_file: "x", reread: ["x"], features: ["two words"] } })?.message).toMatch(/enforce\.features\[0\]: is not a feature name an options file can hold/);
  });

  it("refuses a bad encoding, one a log cannot be split in lines with, and start_at on a polled source", () => {
    expect(refused({ sources: [{ ...source, encoding: "klingon" }] })?.message).toMatch(/sources\[0\]\.encoding: unknown encoding "klingon"/);
    expect(refused({ sources: [{ ...source, encoding: "utf-16le" }] })?.message).toMatch(/utf-16le is not line-compatible/);
    expect(checkRunConfig({ sources: [{ name: "s", kind: "flexlm-lmstat", command: ["lmutil"], encoding: "utf-16le" }] }).sources[0]!.encoding).toBe("utf-16le");
    expect(refused({ sources: [{ name: "s", kind: "flexlm-lmstat", command: ["lmutil"], start_at: "end" }] })?.message).toMatch(/start_at: only for log files/);
    expect(refused({ sources: [{ ...source, start_at: "middle" }] })?.message).toMatch(/sources\[0\]\.start_at/);
  });

  it("refuses package_features on a kind that would ignore them (only the FlexLM debug log pairs packages)", () => {
    expect(checkRunConfig({ sources: [{ ...source, package_features: ["SUITE"] }] }).sources[0]!.package_features).toEqual(["SUITE"]);
    expect(refused({ sources: [{ name: "s", kind: "flexlm-lmstat", command: ["lmutil"], package_features: ["SUITE"] }] }))
      .toEqual({ code: "bad_config", message: "sources[0].package_features: only flexlm-debuglog reads package features (flexlm-lmstat would ignore them)" });
    expect(refused({ sources: [{ name: "s", kind: "jsonl", file: "/var/log/u.jsonl", package_features: ["SUITE"] }] })?.message).toMatch(/^sources\[0\]\.package_features: only flexlm-debuglog/);
  });

  it("refuses a timezone for jsonl, whose times carry their own offset, instead of ignoring it", () => {
    expect(refused({ sources: [{ name: "app", kind: "jsonl", file: "/var/log/u.jsonl", timezone: "Europe/Madrid" }] }))
      .toEqual({ code: "bad_config", message: "sources[0].timezone: jsonl times carry their own UTC offset (it would ignore a time zone)" });
    expect(checkRunConfig({ sources: [{ name: "app", kind: "jsonl", file: "/var/log/u.jsonl" }] }).sources[0]!.kind).toBe("jsonl");
  });

  it("refuses other mistakes with the field's path: kind, time zone, numbers, twice the same name, file and command", () => {
    expect(refused({ sources: [{ ...source, kind: "flexlm" }] })?.message).toMatch(/^sources\[0\]\.kind: must be one of/);
    expect(refused({ sources: [{ ...source, timezone: "Mars/Olympus" }] })?.message).toMatch(/sources\[0\]\.timezone: is not an IANA time zone/);
    expect(refused({ sources: [source], cut_s: 0 })?.message).toMatch(/^cut_s:/);
    expect(refused({ sources: [source], sync_s: 1.5 })?.message).toMatch(/^sync_s:/);
    expect(refused({ sources: [source, source] })?.message).toMatch(/lmgrd is used twice/);
    expect(refused({ sources: [{ ...source, command: ["x"] }] })?.message).toMatch(/exactly one of file or command/);
    expect(refused({ sources: [] })?.message).toMatch(/^sources: needs at least one source/);
    expect(refused({ sources: [source], metrics_listen: "9464" })?.message).toMatch(/metrics_listen: must be host:port/);
    expect(checkRunConfig({ sources: [source], metrics_listen: "[::1]:9464" }).metrics_listen).toEqual({ host: "::1", port: 9464 });
  });

  it("refuses two sources that read the same log or run the same command (each session would be billed twice), whatever the path's spelling", () => {
    expect(refused({ sources: [source, { ...source, name: "again" }] }))
      .toEqual({ code: "bad_config", message: "sources[1] reads the same file as source lmgrd (/var/log/lmgrd.log): each session would be reported twice" });
    expect(refused({ sources: [{ ...source, file: "logs/lmgrd.log" }, { ...source, name: "again", file: "/etc/tally/logs/../logs/lmgrd.log" }] })?.message)
      .toBe("sources[1] reads the same file as source lmgrd (/etc/tally/logs/lmgrd.log): each session would be reported twice");
    const lmstat = { name: "a", kind: "flexlm-lmstat", command: ["lmutil", "lmstat", "-a", "-c", "27000@lic1"] };
    expect(refused({ sources: [lmstat, { ...lmstat, name: "b" }] })?.message).toMatch(/^sources\[1\] reads the same command as source a \(\["lmutil","lmstat","-a","-c","27000@lic1"\]\)/);
    // Another server's lmstat, or another log, is another source.
    expect(checkRunConfig({ sources: [lmstat, { ...lmstat, name: "b", command: ["lmutil", "lmstat", "-a", "-c", "27000@lic2"] }, source, { ...source, name: "other", file: "/var/log/other.log" }] }).sources).toHaveLength(4);
  });

  it("takes Windows paths with spaces and backslashes as they are; a relative path is relative to the config's folder", () => {
    const windows = checkRunConfig({ sources: [
      { name: "lmgrd", kind: "flexlm-debuglog", file: "C:\\Program Files\\FlexLM\\logs\\lmgrd debug.log" },
      { name: "lmstat", kind: "flexlm-lmstat", command: ["C:\\Program Files\\FlexLM\\lmutil.exe", "lmstat", "-a", "-c", "27000@lic 1"] },
      { name: "unc", kind: "rlm-reportlog", file: "\\\\licsrv\\logs\\isv.rl" },
    ] }, "/etc/tally");
    expect(windows.sources.map((s) => s.file ?? s.command![0])).toEqual(["C:\\Program Files\\FlexLM\\logs\\lmgrd debug.log", "C:\\Program Files\\FlexLM\\lmutil.exe", "\\\\licsrv\\logs\\isv.rl"]);
    expect(checkRunConfig({ sources: [{ ...source, file: "logs/lmgrd.log" }] }, "/etc/tally").sources[0]!.file).toBe("/etc/tally/logs/lmgrd.log");
  });

  it("a config with single backslashes (invalid JSON) is refused with the fix in the message", async () => {
    const file = join(dir, "win.json");
    await writeFile(file, '{"sources": [{"name": "l", "kind": "flexlm-debuglog", "file": "C:\\Program Files\\lmgrd.log"}]}');
    await expect(loadRunConfig(file)).rejects.toMatchObject({ code: "bad_config", message: expect.stringMatching(/backslash in a JSON string must be doubled/) });
  });

  it("refuses a key given twice in one object, naming its path, instead of JSON's last one kept and the other dropped", async () => {
    const file = join(dir, "twice.json");
    for (const [text, path] of [
      ['{"sources": [{"name": "l", "kind": "flexlm-debuglog", "file": "/x.log"}], "cut_s": 60, "cut_s": 3600}', "cut_s"],
      ['{"sources": [{"name": "l", "kind": "flexlm-debuglog", "file": "/x.log"}, {"name": "m", "kind": "flexlm-debuglog", "file": "/y.log", "timezone": "UTC", "time\\u007aone": "Asia/Tokyo"}]}', "sources[1].timezone"],
      ['{"sources": [{"name": "l", "kind": "flexlm-debuglog", "file": "/x.log"}], "privacy": {"pseudonymise": true, "pseudonymise": false}}', "privacy.pseudonymise"],
    ] as const) {
      await writeFile(file, text);
      await expect(loadRunConfig(file)).rejects.toMatchObject({ code: "bad_config", message: `key ${path} is given twice (JSON keeps the last, silently): give it once` });
    }
    // The same key in two objects, and keys, values and strings that only look alike, are fine.
    await writeFile(file, '{"sources": [{"name": "cut_s", "kind": "flexlm-debuglog", "file": "/a \\"b\\", c.log", "timezone": "UTC"}, {"name": "b", "kind": "flexlm-debuglog", "file": "/b.log", "timezone": "UTC"}], "cut_s": 60}');
    expect((await loadRunConfig(file)).sources.map((s) => s.file)).toEqual(['/a "b", c.log', "/b.log"]);
  });

  it("run --config with an unknown key exits 2 (bad_config) naming it, before opening anything", async () => {
    const state = join(dir, "site");
    await enrolledState(state);
    const file = join(dir, "typo.json");
    await writeFile(file, JSON.stringify({ sources: [{ ...source, interval: 5 }] }));
    const r = await cli(["run", "--config", file, "--once", "--state", state, "--json"]);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: "bad_config", message: expect.stringContaining("unknown key sources[0].interval") });
  });
});
