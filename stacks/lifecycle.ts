/** The analytics bucket's lifecycle: what expires, after how long, and why. */
import { Duration } from "aws-cdk-lib";
import type { LifecycleRule } from "aws-cdk-lib/aws-s3";
import { REDRIVEN_PREFIX } from "../packages/core/src/platform/pipeline-spec";

/** Days each kind of object is kept; docs/runbook.md repeats them. */
export const RETENTION_DAYS = {
  /** Athena query results: re-run the query to get them again. */
  athenaResults: 7,
  /** Glue's --TempDir: scratch space of a run that takes minutes. */
  glueTemp: 3,
  /** Replaced or deleted versions (a re-run's metrics, a redriven batch): time to notice and restore a mistake. */
  noncurrentVersions: 30,
  /** Failed batches already replayed by `pnpm redrive`, kept for an audit of what was replayed. */
  redriven: 30,
  /** Parts of uploads that never completed (a crashed writer) cost storage and are never visible. */
  incompleteUploads: 1,
} as const;

export const ATHENA_RESULTS_PREFIX = "athena-results/";
export const GLUE_TEMP_PREFIX = "glue-temp/";

export function bucketLifecycleRules(): LifecycleRule[] {
  return [
    { id: "athena-results", prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(RETENTION_DAYS.athenaResults) },
    { id: "glue-temp", prefix: GLUE_TEMP_PREFIX, expiration: Duration.days(RETENTION_DAYS.glueTemp) },
    { id: "redriven", prefix: REDRIVEN_PREFIX, expiration: Duration.days(RETENTION_DAYS.redriven) },
    {
      id: "noncurrent-versions-and-incomplete-uploads",
      noncurrentVersionExpiration: Duration.days(RETENTION_DAYS.noncurrentVersions),
      abortIncompleteMultipartUploadAfter: Duration.days(RETENTION_DAYS.incompleteUploads),
      // Delete markers left alone once their last noncurrent version has expired.
      expiredObjectDeleteMarker: true,
    },
  ];
}
