/** Runs a command from the repository root as a user would, collecting its exit code and output. */
import { spawn } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(__dirname, "../../..");
export const TSX = join(ROOT, "node_modules/.bin/tsx");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `env` adds to this process's environment; `baseEnv` replaces it (a user without AWS variables, say). */
export function runCli(command: string, args: readonly string[], env: Record<string, string> = {}, baseEnv: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
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
