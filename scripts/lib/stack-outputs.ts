/** Where a deployed stage's stream and bucket are: the outputs of its SST Pipeline stack. */
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";

import { APP_NAME } from "@trip-pipeline/core/app";

/** SST v2 names stacks `<stage>-<app>-<stack id>`. */
export function pipelineStackName(stage: string): string {
  return `${stage}-${APP_NAME}-Pipeline`;
}

export interface PipelineOutputs {
  streamName: string;
  bucketName: string;
}

export async function pipelineOutputs(cloudFormation: CloudFormationClient, stage: string): Promise<PipelineOutputs> {
  const stackName = pipelineStackName(stage);
  let outputs;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id ... does not exist".
    if ((error as { name?: string }).name === "ValidationError") throw new Error(`stage "${stage}" is not deployed here: ${(error as Error).message}`);
    throw error;
  }
  const output = (key: string) => {
    const value = outputs.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value) throw new Error(`stack ${stackName} has no ${key} output: deploy the stage again with this version (pnpm deploy --stage ${stage})`);
    return value;
  };
  return { streamName: output("StreamName"), bucketName: output("BucketName") };
}
