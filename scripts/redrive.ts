/**
 * pnpm redrive: replays the stream batches Lambda gave up on (kept in the stage's bucket under
 * aws/lambda/ by the event-source mappings' S3 on-failure destination) through the function
 * that failed them. Idempotent: replayed batches move to redriven/, a second run replays nothing;
 * the handlers' writes are idempotent anyway. Library: packages/core/src/streams/redrive.ts.
 *
 * Exit codes: scripts/lib/exit-codes.ts.
 */

import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import { createS3Client } from "@trip-pipeline/core/platform/aws-clients";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { FAILED_BATCH_PREFIX } from "@trip-pipeline/core/platform/pipeline-spec";
import { S3BlobStore } from "@trip-pipeline/core/store/blob-store";
import { type RedriveReport, redrive } from "@trip-pipeline/core/streams/redrive";
import { parseCli, runWhenMain, terminalLogDestination, UsageError } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import { jsonDocument } from "./lib/json-output.js";
import { LambdaInvoker } from "./lib/lambda-invoker.js";
import { checkCredentials } from "./lib/preflight.js";
import { pipelineOutputs } from "./lib/stack-outputs.js";
import { formatTable } from "./lib/table.js";
import { regionOf } from "./lib/target.js";

export const HELP: Help = {
  command: "pnpm redrive",
  synopsis: ["--stage S [--region R] [--prefix P] [--dry-run] [--json]"],
  about:
    "Replays the stream batches Lambda gave up on (kept in the stage's bucket under aws/lambda/) through the function that failed them; replayed batches move to redriven/, so a second run replays nothing.",
  options: [
    [
      "--stage S",
      "the deployed stage: its bucket (stack outputs) and the functions named in each batch (AWS credentials needed)",
    ],
    ["--region R", `AWS region (default AWS_REGION or ${DEFAULT_REGION})`],
    ["--prefix P", `only batches under P (default ${FAILED_BATCH_PREFIX}; e.g. ${FAILED_BATCH_PREFIX}<mapping uuid>/)`],
    ["--dry-run", "list the failed batches only: nothing is invoked or moved"],
    ["--json", "print exactly one JSON report on stdout"],
  ],
  failures: "some batches failed again or are unreadable (they stay)",
};

const OPTIONS = {
  stage: { type: "string" },
  region: { type: "string" },
  prefix: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

export function table(report: RedriveReport): string {
  const rows = report.batches.map((b) => [
    b.key,
    b.functionArn?.split(":function:")[1] ?? "?",
    b.condition ?? "",
    String(b.records),
    String(b.replayed),
    String(b.remaining),
    b.outcome,
  ]);
  return formatTable([
    ["failed batch", "function", "condition", "records", "replayed", "remaining", "outcome"],
    ...rows,
  ]);
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  if (!values.stage) throw new UsageError("--stage is required");
  const region = regionOf(values);
  await checkCredentials(values.stage, region);
  const logs = terminalLogDestination();
  const cloudFormation = new CloudFormationClient({ region });
  const { bucketName } = await pipelineOutputs(cloudFormation, values.stage).finally(() => cloudFormation.destroy());
  const s3 = createS3Client({ region });
  const lambda = new LambdaClient({ region });
  let report: RedriveReport;
  try {
    report = await redrive({
      store: new S3BlobStore(s3, bucketName),
      invoker: new LambdaInvoker(lambda),
      logger: createLogger("redrive", {}, logs),
      dryRun: values["dry-run"],
      prefix: values.prefix,
    });
  } finally {
    s3.destroy();
    lambda.destroy();
  }
  process.stdout.write(values.json ? jsonDocument(report) : table(report));
  if (report.totals.failedBatches > 0) {
    process.stderr.write(
      `error: ${report.totals.failedBatches} batches failed again or are unreadable; ${report.totals.remaining} records stay under ${FAILED_BATCH_PREFIX} in s3://${bucketName}\n`,
    );
    return EXIT.failures;
  }
  return EXIT.done;
}

export const launch = runWhenMain(import.meta.url, HELP, main);
