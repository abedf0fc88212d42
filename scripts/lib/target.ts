/**
 * Where the CLIs read and write: a deployed stage (stream, bucket and KPI job from its stack
 * outputs) or the local AWS of `pnpm start` (a Kinesis endpoint and a bucket folder).
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { GlueClient } from "@aws-sdk/client-glue";
import { KinesisRecordSink } from "@trip-pipeline/core/ingest/sink";
import { createKinesisClient, createS3Client } from "@trip-pipeline/core/platform/aws-clients";
import { METRICS_PREFIX, TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import { type BlobStore, FolderBlobStore, S3BlobStore } from "@trip-pipeline/core/store/blob-store";
import { UsageError } from "./cli.js";
import { cliConfig } from "./config.js";
import { checkCredentials } from "./preflight.js";
import { analyticsOutputs, pipelineOutputs } from "./stack-outputs.js";

export const TARGET_OPTIONS = {
  stage: { type: "string" },
  endpoint: { type: "string" },
  stream: { type: "string" },
  "trail-dir": { type: "string" },
  region: { type: "string" },
} as const;

/** Where `pnpm start` (default --out) keeps its bucket folder: the local trail's default. */
export const DEFAULT_TRAIL_DIR = ".local/bucket";

export interface TargetValues {
  stage?: string;
  endpoint?: string;
  stream?: string;
  "trail-dir"?: string;
  region?: string;
}

export interface PipelineTarget {
  /** The bucket (S3 or a folder) holding failed/. */
  store: BlobStore;
  /** The stream; absent when nothing is to be sent (a dry run). */
  sink?: KinesisRecordSink;
  /** The bucket, for messages. */
  location: string;
  close(): void;
}

export function regionOf(values: { region?: string }): string {
  return values.region ?? cliConfig().region;
}

/** Rejects contradictory options before anything is read or sent. */
export function checkTargetOptions(values: TargetValues, send: boolean): void {
  const { stage, endpoint, stream } = values;
  if (stage !== undefined && (endpoint !== undefined || stream !== undefined || values["trail-dir"] !== undefined))
    throw new UsageError(
      "with --stage the stream and the bucket come from the stack outputs: drop --endpoint/--stream/--trail-dir",
    );
  if (stream !== undefined && endpoint === undefined) throw new UsageError("--stream goes with --endpoint");
  if (send && stage === undefined && endpoint === undefined)
    throw new UsageError("give --stage S or --endpoint URL (or --dry-run)");
}

/** `send: false` (a dry run) opens no stream client. */
export async function resolvePipelineTarget(values: TargetValues, send: boolean): Promise<PipelineTarget> {
  checkTargetOptions(values, send);
  if (values.stage === undefined) {
    const dir = values["trail-dir"] ?? DEFAULT_TRAIL_DIR;
    const kinesis =
      send && values.endpoint !== undefined ? createKinesisClient({ endpoint: values.endpoint }) : undefined;
    return {
      store: new FolderBlobStore(dir),
      sink: kinesis && new KinesisRecordSink(kinesis, values.stream ?? TRIP_STREAM.name),
      location: dir,
      close: () => kinesis?.destroy(),
    };
  }
  const region = regionOf(values);
  await checkCredentials(values.stage, region);
  const cloudFormation = new CloudFormationClient({ region });
  const { streamName, bucketName } = await pipelineOutputs(cloudFormation, values.stage).finally(() =>
    cloudFormation.destroy(),
  );
  const s3 = createS3Client({ region });
  const kinesis = send ? createKinesisClient({ region }) : undefined;
  return {
    store: new S3BlobStore(s3, bucketName),
    sink: kinesis && new KinesisRecordSink(kinesis, streamName),
    location: `s3://${bucketName}`,
    close: () => {
      s3.destroy();
      kinesis?.destroy();
    },
  };
}

/** A deployed stage's KPI job (Analytics stack outputs) and the bucket it writes (Pipeline's). */
export interface MetricsTarget {
  glue: GlueClient;
  jobName: string;
  store: BlobStore;
  /** Where the rows are, for messages. */
  location: string;
  close(): void;
}

export async function resolveMetricsTarget(stage: string, region: string): Promise<MetricsTarget> {
  await checkCredentials(stage, region);
  const cloudFormation = new CloudFormationClient({ region });
  const [{ bucketName }, { metricsJobName }] = await Promise.all([
    pipelineOutputs(cloudFormation, stage),
    analyticsOutputs(cloudFormation, stage),
  ]).finally(() => cloudFormation.destroy());
  const s3 = createS3Client({ region });
  const glue = new GlueClient({ region });
  return {
    glue,
    jobName: metricsJobName,
    store: new S3BlobStore(s3, bucketName),
    location: `s3://${bucketName}/${METRICS_PREFIX}`,
    close: () => {
      s3.destroy();
      glue.destroy();
    },
  };
}
