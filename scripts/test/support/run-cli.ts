/** Runs a command from the repository root as a user would, collecting its exit code and output. */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(__dirname, "../../..");
export const TSX = join(ROOT, "node_modules/.bin/tsx");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Builds the commands' bundles if a source changed (scripts/run.mjs does it on a command's first
 * run and says so on stderr): a test that compares stderr exactly calls this first.
 */
export async function buildCommands(): Promise<void> {
  const { code, stderr } = await runCli("node", ["scripts/run.mjs", "gen-data", "--help"]);
  if (code !== 0) throw new Error(`building the commands failed: ${stderr}`);
}

/** `env` adds to this process's environment; `baseEnv` replaces it (a user without AWS variables, say). */
export function runCli(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
  baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...baseEnv, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A `pnpm start --serve --port 0` run in its own process group (kill `-child.pid`), its output so far. */
export interface ServedRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
}

export function serveRun(
  files: { startFile: string; endFile: string },
  out: string,
  extraArgs: readonly string[] = [],
): ServedRun {
  const args = ["-s", "start", "--start-file", files.startFile, "--end-file", files.endFile, ...extraArgs];
  const child = spawn("pnpm", [...args, "--serve", "--port", "0", "--out", out], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn" },
    detached: true,
  });
  const run: ServedRun = { child, stdout: "", stderr: "" };
  child.stdout!.on("data", (chunk) => {
    run.stdout += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    run.stderr += chunk;
  });
  return run;
}
