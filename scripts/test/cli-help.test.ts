/**
 * Every command answers --help in one format (usage, what it does, options with their
 * descriptions in one column, exit codes) and does nothing else: it exits at once, writes no
 * file and starts no emulator. `pnpm bench --help` used to run the whole benchmark.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { EXIT } from "../lib/exit-codes.js";
import { buildCommands, ROOT, runCli } from "./support/run-cli.js";

/** Every package.json script that starts a command through scripts/run.mjs. */
const COMMANDS = Object.entries(
  (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts,
)
  .filter(([, script]) => /^node .*scripts\/run\.mjs /.test(script))
  .map(([name]) => name);

/** Where every option's description starts: the same column in every command. */
const COLUMN = 32;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "cli-help-"));
  // The commands' bundles are built once here, not inside a timed --help.
  await buildCommands();
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

test("the commands are the ones the README lists", () => {
  expect(COMMANDS.sort()).toEqual([
    "bench",
    "check-order",
    "gen-data",
    "ingest",
    "kpis",
    "redrive",
    "replay-failed",
    "start",
  ]);
});

test.each(COMMANDS)("pnpm %s --help: the one format, at once, nothing written", async (command) => {
  const localBefore = await readdir(join(ROOT, ".local")).catch(() => []);
  const started = Date.now();
  const { code, stdout, stderr } = await runCli("pnpm", ["-s", command, "--help"], { TMPDIR: tmp });
  const seconds = (Date.now() - started) / 1000;

  expect({ code, stderr }).toEqual({ code: EXIT.done, stderr: "" });
  // Work would take far longer: the benchmark minutes, pnpm start its emulators and the run.
  expect(seconds).toBeLessThan(15);
  expect(await readdir(tmp)).toEqual([]);
  expect(await readdir(join(ROOT, ".local")).catch(() => [])).toEqual(localBefore);

  const sections = stdout.split("\n\n");
  expect(sections[0]).toMatch(new RegExp(`^usage: pnpm ${command}\\b`));
  expect(sections.find((section) => section.startsWith("options:"))).toContain("\n  --help ");
  const exits = sections.at(-1)!;
  expect(exits).toMatch(/^exit codes:\n {2}0 {4}done\n/);
  expect(exits).toContain(`\n  ${EXIT.error}    error: `);
  expect(exits).toContain(`\n  ${EXIT.usage}   usage error: `);
  // Every option line: the description in the one column (or alone on the next lines when the term is long).
  const optionLines = stdout.split("\n").filter((line) => /^ {2}-/.test(line));
  expect(optionLines.length).toBeGreaterThan(0);
  for (const line of optionLines) {
    const gap = /\S( {2,})\S/.exec(line);
    if (gap) expect(gap.index + 1 + gap[1]!.length, line).toBe(COLUMN);
  }
  for (const line of stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
});
