/**
 * Every log group the app causes is a resource of its stack, with a retention, encrypted with
 * the pipeline key: the functions' (ours through Lambda's `logGroup` prop, the framework's
 * custom-resource providers through the aspect below), the API's access log and Glue's. None is
 * left for a service to create on first write (no retention, never deleted), and no deprecated
 * `logRetention` custom resource sets retentions after the fact.
 */
import { Aspects, CfnResource, type IAspect, RemovalPolicy, Stack } from "aws-cdk-lib";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IConstruct } from "constructs";

export const LOG_RETENTION = RetentionDays.ONE_MONTH;

/** Where the app's log groups live; deploy/iam allows these prefixes (with the stage) and no other. */
export const LOG_GROUP_PREFIXES = { lambda: "/aws/lambda/", api: "/aws/vendedlogs/apis/", glue: "/aws-glue/" } as const;

/**
 * A log group of the app: deleted with its stack on every stage (logs are not a data store, and
 * a named group left behind would block the retry of a failed first create).
 */
export function appLogGroup(scope: IConstruct, id: string, logGroupName: string, key: IKey): LogGroup {
  return new LogGroup(scope, id, {
    logGroupName,
    retention: LOG_RETENTION,
    encryptionKey: key,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** The log group of one of our functions, named after its stack so deploy/iam can limit the names. */
export function functionLogGroup(scope: IConstruct, name: string, key: IKey): LogGroup {
  return appLogGroup(scope, `${name}LogGroup`, `${LOG_GROUP_PREFIXES.lambda}${Stack.of(scope).stackName}/${name}`, key);
}

/** CDK's and SST's custom-resource providers, which take no log group: one set on their L1 resource. */
class ProvidersLogToAGroup implements IAspect {
  constructor(private readonly key: IKey) {}

  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource) || node.cfnResourceType !== "AWS::Lambda::Function") return;
    // Ours set theirs (an L2 function's CfnFunction); the providers' plain CfnResources never do.
    if (node instanceof CfnFunction && node.loggingConfig !== undefined) return;
    const scope = node.node.scope!;
    const name = scope.node.path
      .split("/")
      .slice(1)
      .join("-")
      .replace(/[^.\-_#A-Za-z0-9]/g, "");
    const group = functionLogGroup(scope, name, this.key);
    node.addPropertyOverride("LoggingConfig.LogGroup", group.logGroupName);
  }
}

/** Gives the stack's provider functions (created by CDK or SST, not by us) their log group. */
export function providersLogToGroups(stack: Stack, key: IKey): void {
  Aspects.of(stack).add(new ProvidersLogToAGroup(key));
}

/**
 * CloudWatch Logs encrypts the app's log groups with the pipeline key: for the stage's groups
 * only (the encryption context names the group).
 */
export function allowLogEncryption(stack: Stack, key: IKey, stage: string, app: string): void {
  const group = (prefix: string) => `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${prefix}`;
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchLogsEncryptTheAppLogs",
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
      ],
      resources: ["*"],
      conditions: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": [
            group(`${LOG_GROUP_PREFIXES.lambda}${stage}-${app}-*`),
            group(`${LOG_GROUP_PREFIXES.api}${stage}-${app}-*`),
            group(`${LOG_GROUP_PREFIXES.glue}*`),
          ],
        },
      },
    }),
  );
}
