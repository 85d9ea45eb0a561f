// `npm run core -- …`: Tally's edge on your own server (docs/self-hosting.md). The same Worker
// bundle `npm run deploy` uploads to Cloudflare, on workerd through miniflare, with D1 and every
// ContractDO's SQLite kept in a data dir.
//
//   core [serve] --data DIR [--host 127.0.0.1] [--port 8787] [--public-url URL] [--build DIR] [--drain-timeout 30]
//   core backup  --data DIR --out FILE        consistent copy while the core serves (.tar, or .tar.gz)
//   core restore --from FILE --data DIR2      a new data dir from a backup
//   core migrate --from URL --to URL --archive DIR   move a vendor's contracts to another edge (cut-over;
//                                             SOURCE_VENDOR_KEY / TARGET_VENDOR_KEY from the environment)
//   core build                                build (or find the cached build) and print its dir
//
// Secrets come from the environment: ADMIN_TOKEN and EDGE_SIGNING_KEY.
// Exit status: 0 done, 1 failed, 2 refused (usage, secrets, lock held, data of a newer Tally).
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { jsonLog } from "./core/core-log.ts";
import { CoreExit } from "./core/exit.ts";

const USAGE = `usage: npm run core -- [serve] --data DIR [--host H] [--port P] [--public-url URL] [--build DIR] [--drain-timeout S]
       npm run core -- backup --data DIR --out FILE
       npm run core -- restore --from FILE --data DIR
       npm run core -- migrate --from URL --to URL --archive DIR
       npm run core -- build`;

/** The options each command takes: another command's option is refused, never ignored. */
const COMMAND_OPTIONS: Record<string, string[]> = {
  serve: ["data", "host", "port", "public-url", "build", "drain-timeout"],
  backup: ["data", "out"],
  restore: ["from", "data"],
  migrate: ["from", "to", "archive"],
  build: [],
};

async function main(argv: string[]): Promise<number> {
  const command = argv[0] && !argv[0].startsWith("-") ? argv[0] : "serve";
  const rest = command === argv[0] ? argv.slice(1) : argv;
  const { values } = (() => {
    try {
      return parseArgs({
        args: rest, strict: true, allowPositionals: false,
        options: {
          data: { type: "string" }, host: { type: "string" }, port: { type: "string" }, "public-url": { type: "string" },
          build: { type: "string" }, "drain-timeout": { type: "string" }, out: { type: "string" }, from: { type: "string" }, to: { type: "string" }, archive: { type: "string" },
          help: { type: "boolean" },
        },
      });
    } catch (error) {
      throw new CoreExit(2, `${(error as Error).message}\n${USAGE}`);
    }
  })();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  for (const [name, value] of Object.entries(values)) {
    if (name === "help" || !(command in COMMAND_OPTIONS)) continue;
    if (!COMMAND_OPTIONS[command]!.includes(name)) throw new CoreExit(2, `${command} does not take --${name}\n${USAGE}`);
    if (value === "") throw new CoreExit(2, `--${name} needs a value\n${USAGE}`);
  }
  const need = (name: "data" | "out" | "from" | "to" | "archive"): string => {
    const value = values[name];
    if (!value) throw new CoreExit(2, `${command} needs --${name}\n${USAGE}`);
    return value;
  };
  /** `--data DIR`: a directory, or a path to make one at (a file there is a usage mistake). */
  const dataOption = (): string => {
    const data = need("data");
    if (statSync(data, { throwIfNoEntry: false })?.isDirectory() === false) throw new CoreExit(2, `--data: ${data} is not a directory`);
    return data;
  };
  // Commands load their modules on demand: a refusal or a backup never pays for miniflare's import.
  const build = async () => {
    const { ensureBuild, readBuild } = await import("./core/build.ts");
    return values.build ? readBuild(values.build) : ensureBuild();
  };
  switch (command) {
    case "serve": {
      const port = Number(values.port ?? 8787);
      if (!/^\d{1,5}$/.test(values.port ?? "8787") || port > 65535) throw new CoreExit(2, `--port must be 0…65535, not ${values.port}`);
      const drain = Number(values["drain-timeout"] ?? 30);
      if (!/^\d+(\.\d+)?$/.test(values["drain-timeout"] ?? "30")) throw new CoreExit(2, `--drain-timeout must be seconds ≥ 0, not ${values["drain-timeout"]}`);
      const publicUrl = values["public-url"];
      if (publicUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(publicUrl)) throw new CoreExit(2, `--public-url must be an origin like https://tally.example.com, not ${publicUrl}`);
      // A given build is read before the data dir is made or locked: a wrong --build is a usage
      // mistake (exit 2, one line), not a failure while running.
      let given: Awaited<ReturnType<typeof build>> | undefined;
      if (values.build) {
        const { readBuild } = await import("./core/build.ts");
        try {
          given = readBuild(values.build);
        } catch (error) {
          throw new CoreExit(2, `--build: ${(error as Error).message}`);
        }
      }
      const { serve } = await import("./core/serve.ts");
      return serve({
        data: dataOption(), host: values.host ?? "127.0.0.1", port, drainMs: drain * 1000, build: given ? async () => given : build, log: jsonLog(), env: process.env,
        ...(publicUrl ? { publicUrl: publicUrl.replace(/\/$/, "") } : {}),
      });
    }
    case "backup": {
      const { backup } = await import("./core/backup.ts");
      return backup({ data: dataOption(), out: need("out"), log: jsonLog(process.stderr) });
    }
    case "restore": {
      const { restore } = await import("./core/restore.ts");
      return restore({ from: need("from"), data: dataOption(), log: jsonLog(process.stderr) });
    }
    case "migrate": {
      const { migrate } = await import("./core/migrate.ts");
      return migrate({ from: need("from"), to: need("to"), archive: need("archive"), env: process.env, log: jsonLog(process.stderr) });
    }
    case "build":
      process.stdout.write(`${(await build()).dir}\n`);
      return 0;
    default:
      throw new CoreExit(2, `unknown command ${command}\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CoreExit) {
      process.stderr.write(`tally core: ${error.message}\n`);
      process.exit(error.code);
    }
    process.stderr.write(`tally core: failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
