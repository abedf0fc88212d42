/**
 * What a command checks before it does any work (starts emulators, reads a row, calls a
 * service), so that a mistake is one plain line naming the flag or path and what to do, not a
 * raw Node or AWS error halfway through a run.
 */
import { type Stats, statSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";

/** A file a flag names must be a non-empty file: the message says which flag and what to give instead. */
export function checkInputFile(flag: string, path: string): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new Error(`--${flag} ${path}: no such file (looked for ${resolve(path)}); check the path`);
    if (code === "EACCES") throw new Error(`--${flag} ${path}: permission denied; make the file readable`);
    throw error;
  }
  if (stats.isDirectory()) throw new Error(`--${flag} ${path}: is a directory; give the path of a CSV file in it`);
  if (stats.size === 0)
    throw new Error(`--${flag} ${path}: the file is empty; give a CSV export with a header line and rows`);
}

/**
 * AWS credentials for `--stage`, resolved by the SDK's default provider chain (environment,
 * AWS_PROFILE, SSO, ...) as every client of the command will resolve them.
 */
export async function checkCredentials(stage: string, region: string): Promise<void> {
  const client = new CloudFormationClient({ region });
  try {
    await client.config.credentials();
  } catch {
    throw new Error(
      `--stage ${stage}: no AWS credentials found; set AWS_PROFILE or run \`aws sso login\` (the stage must be deployed in ${region})`,
    );
  } finally {
    client.destroy();
  }
}

/** The port is free on `host` (bound and released at once); busy: what to do instead. */
export async function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE" || error.code === "EACCES"
          ? new Error(
              `--port ${port}: ${host}:${port} is ${error.code === "EACCES" ? "not allowed" : "in use"}; pick another or --port 0 (any free port)`,
            )
          : error,
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
