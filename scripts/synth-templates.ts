/**
 * Writes the CloudFormation templates of one stage, synthesized offline exactly as the
 * infrastructure tests do, to <out>/<stack name>.json (for cfn-lint and checkov in .ci/run).
 *
 *   pnpm -s synth-templates --stage prod --out .ci/.templates
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { synthesize } from "../stacks/synth";

const { values } = parseArgs({ options: { stage: { type: "string" }, out: { type: "string" } } });
if (!values.stage || !values.out) {
  console.error("usage: synth-templates --stage STAGE --out DIR");
  process.exit(1);
}
// SST looks up the bootstrap stack (AWS credentials) unless it runs as a test.
process.env.NODE_ENV = "test";
const app = await synthesize(values.stage);
await mkdir(values.out, { recursive: true });
for (const [name, template] of Object.entries(app.templates())) {
  await writeFile(join(values.out, `${name}.json`), `${JSON.stringify(template, null, 1)}\n`);
  console.log(join(values.out, `${name}.json`));
}
