import { beforeAll, describe, expect, test } from "vitest";
import { Pipeline } from "../Pipeline";
import { synthesize, type SynthesizedApp } from "./synth";

let app: SynthesizedApp;
beforeAll(async () => {
  app = await synthesize();
});

describe("Pipeline stack", () => {
  test("TripData: keys, on-demand, PITR, stream, TTL, per-day GSI", () => {
    app.template(Pipeline).hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: "trip_id", KeyType: "HASH" },
        { AttributeName: "sort_key", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
      TimeToLiveSpecification: { AttributeName: "expires_at", Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: "byPickupDay",
          KeySchema: [
            { AttributeName: "gsi1pk", KeyType: "HASH" },
            { AttributeName: "gsi1sk", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    });
  });

  test("TripEventsStream is encrypted", () => {
    app.template(Pipeline).hasResourceProperties("AWS::Kinesis::Stream", { StreamEncryption: { EncryptionType: "KMS" } });
    expect(app.template(Pipeline).findResources("AWS::Kinesis::Stream")).not.toEqual({});
  });
});
