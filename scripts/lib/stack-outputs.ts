/** Where a deployed stage's resources are: the outputs of its SST stacks (Pipeline, Analytics). */
import { type CloudFormationClient, DescribeStacksCommand, type Output } from "@aws-sdk/client-cloudformation";

import { APP_NAME } from "@trip-pipeline/core/platform/app";

/** SST v2 names stacks `<stage>-<app>-<stack id>`. */
export function stackName(stage: string, stack: "Pipeline" | "Analytics"): string {
  return `${stage}-${APP_NAME}-${stack}`;
}

export interface PipelineOutputs {
  streamName: string;
  bucketName: string;
}

export interface AnalyticsOutputs {
  metricsJobName: string;
}

/** The named outputs of one of the stage's stacks; every one must be there. */
async function stackOutputs<K extends string>(
  cloudFormation: CloudFormationClient,
  stage: string,
  stack: "Pipeline" | "Analytics",
  keys: readonly K[],
): Promise<Record<K, string>> {
  const name = stackName(stage, stack);
  let outputs: Output[];
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    outputs = Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id ... does not exist".
    if ((error as { name?: string }).name === "ValidationError")
      throw new Error(`stage "${stage}" is not deployed here: ${(error as Error).message}`);
    throw error;
  }
  const values = {} as Record<K, string>;
  for (const key of keys) {
    const value = outputs.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value)
      throw new Error(
        `stack ${name} has no ${key} output: deploy the stage again with this version (pnpm deploy --stage ${stage})`,
      );
    values[key] = value;
  }
  return values;
}

export async function pipelineOutputs(cloudFormation: CloudFormationClient, stage: string): Promise<PipelineOutputs> {
  const { StreamName, BucketName } = await stackOutputs(cloudFormation, stage, "Pipeline", [
    "StreamName",
    "BucketName",
  ]);
  return { streamName: StreamName, bucketName: BucketName };
}

/** The KPI job is in the Analytics stack; its bucket is the Pipeline stack's. */
export async function analyticsOutputs(cloudFormation: CloudFormationClient, stage: string): Promise<AnalyticsOutputs> {
  const { MetricsJobName } = await stackOutputs(cloudFormation, stage, "Analytics", ["MetricsJobName"]);
  return { metricsJobName: MetricsJobName };
}
