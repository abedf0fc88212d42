/**
 * Removal policies, decided in one place. In prod only the data stores are kept when a stack
 * deletes them (a rolled-back first create, `sst remove`): everything else (functions, roles,
 * alarms, the Glue job and crawler, the Athena workgroup, SSM parameters) is deleted, so a
 * retry of a failed first deploy finds no leftover named resource, and `sst remove` leaves
 * nothing but data. Every other stage is disposable.
 */
import { Aspects, CfnResource, type IAspect, RemovalPolicy } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * The data stores: table, bucket, stream, key, catalog (database and table), and the dashboard's
 * user pool (its users and their MFA devices cannot be recreated). The aspect below gives them
 * dataStoreRemovalPolicy, whatever their construct asked for.
 */
export const DATA_STORE_TYPES: ReadonlySet<string> = new Set([
  "AWS::DynamoDB::Table",
  "AWS::S3::Bucket",
  "AWS::Kinesis::Stream",
  "AWS::KMS::Key",
  "AWS::Glue::Database",
  "AWS::Glue::Table",
  "AWS::Cognito::UserPool",
]);

/**
 * RetainExceptOnCreate: kept on delete and on replacement, but deleted when the stack operation
 * that created it rolls back (nothing was stored in it yet), so the retry can create it again.
 */
export function dataStoreRemovalPolicy(stage: string): RemovalPolicy {
  return stage === "prod" ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY;
}

/** Deletes every resource that is not a data store, on every stage (CDK's own default retains some). */
class DestroyAllButDataStores implements IAspect {
  constructor(private readonly stage: string) {}

  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource)) return;
    if (DATA_STORE_TYPES.has(node.cfnResourceType)) node.applyRemovalPolicy(dataStoreRemovalPolicy(this.stage));
    else node.applyRemovalPolicy(RemovalPolicy.DESTROY);
  }
}

export function applyRemovalPolicies(scope: IConstruct, stage: string): void {
  Aspects.of(scope).add(new DestroyAllButDataStores(stage));
}
