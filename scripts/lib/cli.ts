/** What every script CLI shares: parseArgs with usage errors, number options, exit codes. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { pathToFileURL } from "node:url";
import { MissingColumnsError } from "@trip-pipeline/core/csv";

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
 * Runs a CLI's main when its file is the entry point (not when a test imports it). Usage and
 * input errors print one line and exit 1; main's own result is the exit code otherwise.
 */
export function runWhenMain(moduleUrl: string, usage: string, main: (argv: string[]) => Promise<number>): void {
  if (!process.argv[1] || pathToFileURL(process.argv[1]).href !== moduleUrl) return;
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
