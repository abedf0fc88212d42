import { use, type StackContext } from "sst/constructs";
import { Pipeline } from "./Pipeline";

export function Analytics({ stack }: StackContext) {
  const { table, bucket } = use(Pipeline);
  stack.addOutputs({ MetricsLocation: `s3://${bucket.bucketName}/metrics/`, SourceTable: table.tableName });
}
