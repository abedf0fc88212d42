/**
 * What CloudFormation calls to create and to delete a resource type: `handlers.create/delete
 * .permissions` of the registry schemas cfn-lint ships (its pinned version, in the template-lint
 * venv, which .ci/template-lint/venv.sh creates on first use).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { TEST_REGION } from "./iam-policies";

let schemas: string | undefined;

function schemaDir(): string {
  if (schemas) return schemas;
  const venv = execFileSync("bash", [resolve(import.meta.dirname, "..", "..", ".ci", "template-lint", "venv.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  const [python] = readdirSync(join(venv, "lib"));
  schemas = join(venv, "lib", python!, "site-packages", "cfnlint", "data", "schemas");
  return schemas;
}

export interface HandlerPermissions {
  create: string[];
  delete: string[];
}

/** The create and delete handler permissions of a registry type, in the app's region. */
export function handlerPermissions(type: string): HandlerPermissions {
  const dir = schemaDir();
  const index = JSON.parse(readFileSync(join(dir, "providers", `${TEST_REGION}.json`), "utf8")) as Record<string, string>;
  const file = index[type];
  if (!file) throw new Error(`${type}: no registry schema in cfn-lint for ${TEST_REGION}`);
  const schema = JSON.parse(readFileSync(join(dir, "resources", `${file}.json`), "utf8")) as { handlers?: Record<string, { permissions?: string[] }> };
  return { create: schema.handlers?.create?.permissions ?? [], delete: schema.handlers?.delete?.permissions ?? [] };
}
