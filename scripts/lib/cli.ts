/** What every script CLI shares: parseArgs with usage errors, number options, --help, exit codes. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { LogDestination } from "@trip-pipeline/core/platform/logger";
import { prettyLine } from "@trip-pipeline/local/logs";
import { EXIT } from "./exit-codes.js";
import { formatHelp, type Help } from "./help.js";

/** The repository: above this module, from its source or from the prebuilt bundle it is in. */
export const REPO_ROOT = findUp(dirname(fileURLToPath(import.meta.url)), "pnpm-workspace.yaml");

function findUp(dir: string, marker: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, marker))) return at;
    if (dirname(at) === at) throw new Error(`no ${marker} above ${dir}`);
  }
}

/** A path as the commands print it: relative to the working directory when below it, else absolute. */
export function displayPath(path: string): string {
  const below = relative(process.cwd(), path);
  return below.startsWith("..") ? path : below || ".";
}

/** How the CLIs start each other's processes: the launcher of their prebuilt bundles. */
export const LAUNCHER = join(REPO_ROOT, "scripts", "run.mjs");

/**
 * The node flags a package.json script starts its CLI with (`node --max-semi-space-size=16
 * scripts/run.mjs start`: ["--max-semi-space-size=16"]), so that a benchmark's child process
 * runs as the command it stands for.
 */
export function nodeFlagsOf(script: string): string[] {
  const scripts = (
    JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  const words = (scripts[script] ?? "").split(/\s+/);
  const launcher = words.indexOf("scripts/run.mjs");
  if (words[0] !== "node" || launcher < 0)
    throw new Error(`package.json's "${script}" script is not "node [flags] scripts/run.mjs ..."`);
  return words.slice(1, launcher);
}

/** Runs a prebuilt CLI in a child process with a script's node flags; its stdout, once it exits 0. */
export async function runCliChild(script: string, cli: string, args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [...nodeFlagsOf(script), LAUNCHER, cli, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  const [code] = (await once(child, "close")) as [number];
  if (code !== 0) throw new Error(`${cli} ${args.join(" ")} exited with ${code}`);
  return out;
}

/** A mistake in how the command was called: one line and a pointer to --help, exit code EXIT.usage. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** parseArgs' messages, said in the words of these commands (they take no positional arguments). */
function usageMessage(error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return error.message.includes("argument missing") ? `${option} needs a value` : `${option} takes no value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ""} (every option starts with --)`;
    default:
      return error.message;
  }
}

export function parseCli<T extends ParseArgsConfig["options"]>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(usageMessage(error as Error));
  }
}

export function intOption(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${name} must be a whole number from ${min}, got ${JSON.stringify(text)}`);
  return value;
}

/** Starts a CLI with its arguments; the exit code is set when it is done. */
export type Launch = (argv: string[]) => void;

/**
 * For a command that logs to stderr: on a terminal every line is one readable line, warnings and
 * errors only unless LOG_LEVEL says otherwise (the command's own output says what happened);
 * into a pipe or a CI log, pino's JSON lines at LOG_LEVEL (default info), for machines. The
 * command passes the destination to the loggers it creates.
 */
export function terminalLogDestination(): LogDestination | undefined {
  if (!process.stderr.isTTY) return undefined;
  process.env.LOG_LEVEL ??= "warn";
  return (name) => ({ write: (line: string) => void process.stderr.write(prettyLine(name, line)) });
}

/** `--help` (or `-h`) anywhere before a `--`: the command prints its help and does nothing else. */
export function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/**
 * A CLI's launch: scripts/run.mjs calls the one its prebuilt bundle exports (`launch`); from
 * source (tsx) it runs at once when its file is the entry point, not when a test or another
 * command imports it. `--help` prints the help and never reaches main. An error prints one line
 * (a usage error adds where the help is); main's own result is the exit code otherwise.
 */
export function runWhenMain(moduleUrl: string, help: Help, main: (argv: string[]) => Promise<number>): Launch {
  const launch: Launch = (argv) => {
    if (asksForHelp(argv)) {
      process.stdout.write(formatHelp(help));
      return;
    }
    // The pinned SDK runs on Node 20; its notice is about future releases, not this run.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    main(argv).then(
      (code) => {
        process.exitCode = code;
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof UsageError) process.stderr.write(`error: ${message} (see ${help.command} --help)\n`);
        else process.stderr.write(`error: ${message}\n`);
        process.exitCode = error instanceof UsageError ? EXIT.usage : EXIT.error;
      },
    );
  };
  if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl) launch(process.argv.slice(2));
  return launch;
}
