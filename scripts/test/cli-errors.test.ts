/**
 * What a person sees when a command cannot run: one plain line naming the flag or path and what
 * to do, the documented exit code, and no work done (no run folder, no emulator), for each
 * mistake of the table users met: a missing file, a directory, an empty file, no AWS
 * credentials for --stage, a busy port; and a usage error points to --help instead of printing it.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { EXIT } from "../lib/exit-codes.js";
import { buildCommands, ROOT, runCli } from "./support/run-cli.js";

let dir: string;
let out: string;
const SAMPLE = ["--end-file", join(ROOT, "data", "trip_end.csv")];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cli-errors-"));
  out = join(dir, "run");
  // stderr is compared exactly: the one-time build note must not be part of it.
  await buildCommands();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** `pnpm -s start ...` into a run folder that must not appear: the mistake is found before the emulators start. */
async function startFails(args: string[]) {
  const result = await runCli("pnpm", ["-s", "start", ...args, "--out", out]);
  expect(existsSync(out), "the run folder was created: work started before the check").toBe(false);
  return result;
}

describe("pnpm start: input files and the port are checked before the emulators start", () => {
  test("--start-file nope.csv: no such file, with the path it looked for", async () => {
    const { code, stdout, stderr } = await startFails(["--start-file", "nope.csv", ...SAMPLE]);
    expect({ code, stdout, stderr }).toEqual({
      code: EXIT.error,
      stdout: "",
      stderr: `error: --start-file nope.csv: no such file (looked for ${resolve(ROOT, "nope.csv")}); check the path\n`,
    });
  });

  test("a directory as a file", async () => {
    const { code, stderr } = await startFails(["--start-file", "data", ...SAMPLE]);
    expect({ code, stderr }).toEqual({
      code: EXIT.error,
      stderr: "error: --start-file data: is a directory; give the path of a CSV file in it\n",
    });
  });

  test("an empty file", async () => {
    const empty = join(dir, "empty.csv");
    await writeFile(empty, "");
    const { code, stderr } = await startFails([
      "--start-file",
      join(ROOT, "data", "trip_start.csv"),
      "--end-file",
      empty,
    ]);
    expect({ code, stderr }).toEqual({
      code: EXIT.error,
      stderr: `error: --end-file ${empty}: the file is empty; give a CSV export with a header line and rows\n`,
    });
  });

  test("--serve --port <busy>: pick another or --port 0", async () => {
    const busy: Server = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    const port = (busy.address() as { port: number }).port;
    try {
      const { code, stderr } = await startFails(["--serve", "--port", String(port)]);
      expect({ code, stderr }).toEqual({
        code: EXIT.error,
        stderr: `error: --port ${port}: 127.0.0.1:${port} is in use; pick another or --port 0 (any free port)\n`,
      });
    } finally {
      busy.close();
    }
  });
});

describe("--stage without AWS credentials (an empty HOME, no AWS_* variables)", () => {
  let home: string;
  beforeAll(async () => {
    home = join(dir, "home");
    await mkdir(home);
  });
  const withoutAws = () => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_"))),
    HOME: home,
  });
  const message =
    "error: --stage prod: no AWS credentials found; set AWS_PROFILE or run `aws sso login` (the stage must be deployed in eu-north-1)\n";

  test.each([
    ["ingest", "--start-file", join(ROOT, "data", "trip_start.csv"), ...SAMPLE, "--stage", "prod"],
    ["replay-failed", "--stage", "prod"],
    ["redrive", "--stage", "prod"],
    ["kpis", "--stage", "prod", "--from", "2024-02-28", "--to", "2024-03-01"],
  ])("pnpm %s: one line, before any AWS call", async (command, ...args) => {
    const { code, stdout, stderr } = await runCli("pnpm", ["-s", command, ...args], {}, withoutAws());
    expect({ code, stdout, stderr }).toEqual({ code: EXIT.error, stdout: "", stderr: message });
  });
});

describe("usage errors: the message and where the help is, not the whole help; their own exit code", () => {
  test.each(["start", "ingest", "gen-data", "bench", "replay-failed", "check-order", "kpis", "redrive"])(
    "pnpm %s --bogus",
    async (command) => {
      const { code, stdout, stderr } = await runCli("pnpm", ["-s", command, "--bogus"]);
      expect({ code, stdout, stderr }).toEqual({
        code: EXIT.usage,
        stdout: "",
        stderr: `error: unknown option --bogus (see pnpm ${command} --help)\n`,
      });
      expect(EXIT.usage).not.toBe(EXIT.failures);
    },
  );
});
