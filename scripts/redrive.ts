/**
 * pnpm redrive: replays the stream batches Lambda gave up on (kept in the stage's bucket under
 * aws/lambda/ by the event-source mappings' S3 on-failure destination) through the function
 * that failed them. Idempotent: replayed batches move to redriven/, a second run replays nothing;
 * the handlers' writes are idempotent anyway. Library: packages/core/src/redrive.ts.
 *
 * Exit codes: 0 every batch replayed (or, with --dry-run, listed); 2 some batches failed again
 * or could not be read (they stay); 1 usage or access error.
 */
import { LambdaClient } from "@aws-sdk/client-lambda";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { createLogger, S3BlobStore } from "@trip-pipeline/core";
import { createS3Client } from "@trip-pipeline/core/aws/clients";
import { redrive, type RedriveReport } from "@trip-pipeline/core/redrive";
import { FAILED_BATCH_PREFIX } from "@trip-pipeline/core/pipeline-spec";
import { parseCli, runWhenMain, UsageError } from "./lib/cli.js";
import { LambdaInvoker } from "./lib/lambda-invoker.js";
import { pipelineOutputs } from "./lib/stack-outputs.js";
import { regionOf } from "./lib/target.js";
import { formatTable } from "./lib/table.js";

export const USAGE = `usage: pnpm redrive --stage S [--region R] [--prefix P] [--dry-run] [--json]

  --stage S      the deployed stage: its bucket (stack outputs) and the functions named in each batch
  --region R     AWS region (default AWS_REGION or eu-north-1)
  --prefix P     only batches under P (default ${FAILED_BATCH_PREFIX}; e.g. ${FAILED_BATCH_PREFIX}<mapping uuid>/)
  --dry-run      list the failed batches only: nothing is invoked or moved
  --json         print exactly one JSON report on stdout (logs stay on stderr)

exit codes: 0 done, 2 some batches failed again or are unreadable (they stay), 1 error`;

const OPTIONS = {
  stage: { type: "string" },
  region: { type: "string" },
  prefix: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

export function table(report: RedriveReport): string {
  const rows = report.batches.map((b) => [b.key, b.functionArn?.split(":function:")[1] ?? "?", b.condition ?? "", String(b.records), String(b.replayed), String(b.remaining), b.outcome]);
  return formatTable([["failed batch", "function", "condition", "records", "replayed", "remaining", "outcome"], ...rows]);
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.stage) throw new UsageError("--stage is required");
  const region = regionOf(values);
  const cloudFormation = new CloudFormationClient({ region });
  const { bucketName } = await pipelineOutputs(cloudFormation, values.stage).finally(() => cloudFormation.destroy());
  const s3 = createS3Client({ region });
  const lambda = new LambdaClient({ region });
  let report: RedriveReport;
  try {
    report = await redrive({
      store: new S3BlobStore(s3, bucketName),
      invoker: new LambdaInvoker(lambda),
      logger: createLogger("redrive"),
      dryRun: values["dry-run"],
      prefix: values.prefix,
    });
  } finally {
    s3.destroy();
    lambda.destroy();
  }
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : table(report));
  if (report.totals.failedBatches > 0) {
    process.stderr.write(`error: ${report.totals.failedBatches} batches failed again or are unreadable; ${report.totals.remaining} records stay under ${FAILED_BATCH_PREFIX} in s3://${bucketName}\n`);
    return 2;
  }
  return 0;
}

export const launch = runWhenMain(import.meta.url, USAGE, main);
