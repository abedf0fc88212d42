/**
 * What CloudFormation calls to create and to delete a resource type: `handlers.create/delete
 * .permissions` of the registry schemas cfn-lint ships (its pinned version, in the template-lint
 * venv, which .ci/template-lint/venv.sh creates on first use).
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { TEST_REGION } from "./iam-policies";

let schemas: Promise<string> | undefined;

/**
 * Asynchronously: on a fresh clone venv.sh pip-installs cfn-lint, a minute or more, and a
 * blocked worker misses vitest's heartbeats (the run then fails with an unhandled RPC timeout).
 */
function schemaDir(): Promise<string> {
  schemas ??= promisify(execFile)(
    "bash",
    [resolve(import.meta.dirname, "..", "..", ".ci", "template-lint", "venv.sh")],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  ).then(({ stdout, stderr }) => {
    process.stderr.write(stderr);
    const venv = stdout.trim();
    const [python] = readdirSync(join(venv, "lib"));
    return join(venv, "lib", python!, "site-packages", "cfnlint", "data", "schemas");
  });
  return schemas;
}

export interface HandlerPermissions {
  create: string[];
  delete: string[];
}

/** The create and delete handler permissions of a registry type, in the app's region. */
export async function handlerPermissions(type: string): Promise<HandlerPermissions> {
  const dir = await schemaDir();
  const index = JSON.parse(readFileSync(join(dir, "providers", `${TEST_REGION}.json`), "utf8")) as Record<
    string,
    string
  >;
  const file = index[type];
  if (!file) throw new Error(`${type}: no registry schema in cfn-lint for ${TEST_REGION}`);
  const schema = JSON.parse(readFileSync(join(dir, "resources", `${file}.json`), "utf8")) as {
    handlers?: Record<string, { permissions?: string[] }>;
  };
  return { create: schema.handlers?.create?.permissions ?? [], delete: schema.handlers?.delete?.permissions ?? [] };
}
