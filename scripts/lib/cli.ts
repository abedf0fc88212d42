/** What every script CLI shares: parseArgs with usage errors, number options, exit codes. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MissingColumnsError } from "@trip-pipeline/core/csv";

/** The repository: above this module, from its source or from the prebuilt bundle it is in. */
export const REPO_ROOT = findUp(dirname(fileURLToPath(import.meta.url)), "pnpm-workspace.yaml");

function findUp(dir: string, marker: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, marker))) return at;
    if (dirname(at) === at) throw new Error(`no ${marker} above ${dir}`);
  }
}

/** How the CLIs start each other's processes: the launcher of their prebuilt bundles. */
export const LAUNCHER = join(REPO_ROOT, "scripts", "run.mjs");

/**
 * The node flags a package.json script starts its CLI with (`node --max-semi-space-size=16
 * scripts/run.mjs start`: ["--max-semi-space-size=16"]), so that a benchmark's child process
 * runs as the command it stands for.
 */
export function nodeFlagsOf(script: string): string[] {
  const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  const words = (scripts[script] ?? "").split(/\s+/);
  const launcher = words.indexOf("scripts/run.mjs");
  if (words[0] !== "node" || launcher < 0) throw new Error(`package.json's "${script}" script is not "node [flags] scripts/run.mjs ..."`);
  return words.slice(1, launcher);
}

/** Runs a prebuilt CLI in a child process with a script's node flags; its stdout, once it exits 0. */
export async function runCliChild(script: string, cli: string, args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [...nodeFlagsOf(script), LAUNCHER, cli, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  const [code] = (await once(child, "close")) as [number];
  if (code !== 0) throw new Error(`${cli} ${args.join(" ")} exited with ${code}`);
  return out;
}

/** A mistake in how the command was called: printed with the usage, exit code 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

export function parseCli<T extends ParseArgsConfig["options"]>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function intOption(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number from ${min}, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * Runs a CLI's main when it is the command started: its file is the entry point (tsx), or its
 * name is the one scripts/run.mjs launched from a prebuilt bundle (which holds other commands'
 * modules too); not when a test or another command imports it. Usage and input errors print one
 * line and exit 1; main's own result is the exit code otherwise.
 */
export function runWhenMain(name: string, moduleUrl: string, usage: string, main: (argv: string[]) => Promise<number>): void {
  const launched = (globalThis as Record<symbol, unknown>)[Symbol.for("trip-pipeline.cli")];
  const isMain = launched === undefined ? process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl : launched === name;
  if (!isMain) return;
  // The pinned SDK runs on Node 20; its notice is about future releases, not this run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) process.stderr.write(`error: ${error.message}\n\n${usage}\n`);
      else if (error instanceof MissingColumnsError) process.stderr.write(`error: ${error.message}\n`);
      else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
