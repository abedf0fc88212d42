import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, expect, test } from "vitest";
import { analyticsOutputs, pipelineOutputs } from "../lib/stack-outputs.js";

const cloudFormation = mockClient(CloudFormationClient);
afterEach(() => cloudFormation.reset());
const client = new CloudFormationClient({ region: "eu-north-1" });

test("reads the stream and the bucket from the stage's Pipeline stack outputs", async () => {
  cloudFormation.on(DescribeStacksCommand, { StackName: "prod-trip-pipeline-Pipeline" }).resolves({
    Stacks: [
      {
        StackName: "prod-trip-pipeline-Pipeline",
        CreationTime: new Date(),
        StackStatus: "UPDATE_COMPLETE",
        Outputs: [
          { OutputKey: "TableName", OutputValue: "prod-trip-pipeline-TripData" },
          { OutputKey: "StreamName", OutputValue: "prod-trip-pipeline-TripEventsStream" },
          { OutputKey: "BucketName", OutputValue: "prod-trip-pipeline-analyticsbucket-abc" },
        ],
      },
    ],
  });
  expect(await pipelineOutputs(client, "prod")).toEqual({
    streamName: "prod-trip-pipeline-TripEventsStream",
    bucketName: "prod-trip-pipeline-analyticsbucket-abc",
  });
});

test("a stage that is not deployed gets an error naming the stage", async () => {
  cloudFormation
    .on(DescribeStacksCommand)
    .rejects(
      Object.assign(new Error("Stack with id dev-trip-pipeline-Pipeline does not exist"), { name: "ValidationError" }),
    );
  await expect(pipelineOutputs(client, "dev")).rejects.toThrow(
    'stage "dev" is not deployed here: Stack with id dev-trip-pipeline-Pipeline does not exist',
  );
});

test("a stack without the outputs (deployed by an older version) gets an error naming the output", async () => {
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "dev-trip-pipeline-Pipeline",
        CreationTime: new Date(),
        StackStatus: "CREATE_COMPLETE",
        Outputs: [{ OutputKey: "StreamName", OutputValue: "s" }],
      },
    ],
  });
  await expect(pipelineOutputs(client, "dev")).rejects.toThrow(
    "stack dev-trip-pipeline-Pipeline has no BucketName output",
  );
});

test("reads the KPI job's name from the stage's Analytics stack outputs", async () => {
  cloudFormation.on(DescribeStacksCommand, { StackName: "prod-trip-pipeline-Analytics" }).resolves({
    Stacks: [
      {
        StackName: "prod-trip-pipeline-Analytics",
        CreationTime: new Date(),
        StackStatus: "UPDATE_COMPLETE",
        Outputs: [
          { OutputKey: "MetricsJobName", OutputValue: "prod-trip-pipeline-GenerateTripMetrics" },
          { OutputKey: "MetricsLocation", OutputValue: "s3://prod-trip-pipeline-analyticsbucket-abc/metrics/" },
        ],
      },
    ],
  });
  expect(await analyticsOutputs(client, "prod")).toEqual({ metricsJobName: "prod-trip-pipeline-GenerateTripMetrics" });
});
