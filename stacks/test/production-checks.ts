/**
 * The prod synthesis (sst.config.ts, stage prod) against what a first `sst deploy --stage prod`
 * and the operations after it depend on: runtime, least privilege, removal policies, failed
 * batches kept with their records, Glue wiring, bucket lifecycle, daily-job alarms. Registered by analytics.test.ts, which synthesizes prod once: two
 * synthesizing test files in parallel race on SST's build artifacts.
 */

import { readFileSync } from "node:fs";
import type { Template } from "aws-cdk-lib/assertions";
import { describe, expect, test } from "vitest";
import { DASHBOARD_ROUTES, KPI_READ } from "../../packages/core/src/dashboard/spec";
import { CONSUMERS, FAILED_BATCH_PREFIX, REDRIVEN_PREFIX } from "../../packages/core/src/platform/pipeline-spec";
import { sparkOutputKeys } from "../Analytics";
import { ACCESS } from "../access";
import { PERMISSIONS_BOUNDARY } from "../boundary";
import { SITE_CSP } from "../Dashboard";
import { RETENTION_DAYS } from "../lifecycle";
import { LOG_RETENTION } from "../logs";
import { DATA_STORE_TYPES } from "../removal";
import type { CfnObject } from "./iam-policies";

type Resource = {
  Type: string;
  Properties: CfnObject;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
};
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

let templates: () => Template[];

const entries = (template: Template) => Object.entries(template.toJSON().Resources as Record<string, Resource>);
const all = () => templates().flatMap(entries);
const ofType = (type: string) => all().filter(([, r]) => r.Type === type);
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of every identity policy attached to one of the roles (inline, default or managed policy resources). */
function roleStatements(roleId?: string): Statement[] {
  const attached = (roles: unknown) => roleId === undefined || JSON.stringify(roles).includes(`"${roleId}"`);
  return [
    ...ofType("AWS::IAM::Policy").filter(([, p]) => attached(p.Properties.Roles)),
    ...ofType("AWS::IAM::ManagedPolicy").filter(([, p]) => attached(p.Properties.Roles)),
  ]
    .flatMap(([, p]) => list<Statement>(p.Properties.PolicyDocument.Statement))
    .concat(
      ofType("AWS::IAM::Role")
        .filter(([id]) => roleId === undefined || id === roleId)
        .flatMap(([, r]) =>
          list<{ PolicyDocument: { Statement: Statement[] } }>(r.Properties.Policies).flatMap(
            (p) => p.PolicyDocument.Statement,
          ),
        ),
    );
}

/** The role of the function whose handler is `handler`. */
function roleOf(handler: string): string {
  const [, fn] = ofType("AWS::Lambda::Function").find(([, f]) => f.Properties.Handler === handler)!;
  return fn.Properties.Role["Fn::GetAtt"][0];
}

/** Registers the checks on the prod templates (every stack), read after the caller's beforeAll. */
export function productionChecks(prodTemplates: () => Template[]): void {
  templates = prodTemplates;
  describe("1. runtime", () => {
    test("every function of ours runs nodejs22.x; no function anywhere runs nodejs20.x or older", () => {
      const functions = ofType("AWS::Lambda::Function");
      const ours = functions.filter(([, f]) => /^packages\/functions\//.test(f.Properties.Handler ?? ""));
      expect(ours.map(([, f]) => f.Properties.Handler)).toEqual(
        expect.arrayContaining([
          ...Object.values(CONSUMERS).map((c) => c.handler),
          "packages/functions/src/start-metrics-job.handler",
        ]),
      );
      for (const [, f] of ours) expect(f.Properties.Runtime).toBe("nodejs22.x");
      for (const [id, f] of functions) expect(f.Properties.Runtime, id).not.toMatch(/^nodejs(1\d|20)\.x$/);
    });
  });

  describe("2. least privilege", () => {
    test("no role has a wildcard action (service:* or *)", () => {
      const statements = roleStatements();
      expect(statements.length).toBeGreaterThan(20);
      const wildcards = statements
        .filter((s) => s.Effect === "Allow")
        .flatMap((s) => list(s.Action).filter((a) => a === "*" || /:\*$/.test(a)));
      expect(wildcards).toEqual([]);
    });

    test.each(Object.keys(CONSUMERS) as (keyof typeof CONSUMERS)[])(
      "%s: exactly its ACCESS entry on the table, the bucket and the key",
      (name) => {
        const statements = roleStatements(roleOf(CONSUMERS[name].handler));
        const actionsOn = (resource: RegExp) =>
          statements
            .filter((s) => resource.test(JSON.stringify(s.Resource)) && !JSON.stringify(s.Resource).includes("/index/"))
            .flatMap((s) => list(s.Action))
            .sort();
        const access = ACCESS[name];
        // Item actions on the table: limited to partitions (table) or not (tableAnyPartition, the aggregator's BatchGetItem).
        const anyPartition: readonly string[] = "tableAnyPartition" in access ? access.tableAnyPartition : [];
        expect(actionsOn(/TripDataTable[^"]*","Arn"\]/)).toEqual([...access.table, ...anyPartition].sort());
        for (const { prefix, actions } of access.objects) {
          const onPrefix = statements.filter((s) => JSON.stringify(s.Resource).includes(`"/${prefix}*"`));
          expect(onPrefix.flatMap((s) => list(s.Action)).sort(), prefix).toEqual([...actions].sort());
        }
        // Nothing else on the bucket's objects than the entry names: no version or policy actions.
        const objectActions = statements
          .filter((s) => /AnalyticsBucket.*\/[a-z]/.test(JSON.stringify(s.Resource)))
          .flatMap((s) => list(s.Action));
        expect(new Set(objectActions)).toEqual(new Set(access.objects.flatMap((o) => o.actions)));
        expect(
          statements
            .flatMap((s) => list(s.Action))
            .filter((a) =>
              /^(dynamodb:(DeleteTable|UpdateTable|UpdateContinuousBackups)|s3:(DeleteObjectVersion|PutBucketPolicy|DeleteBucket))$/.test(
                a,
              ),
            ),
        ).toEqual([]);
      },
    );

    test("the functions get their configuration under our own names, none from an SST binding", () => {
      for (const spec of Object.values(CONSUMERS)) {
        const [, fn] = ofType("AWS::Lambda::Function").find(([, f]) => f.Properties.Handler === spec.handler)!;
        const names = Object.keys(fn.Properties.Environment.Variables);
        expect(names).toEqual(expect.arrayContaining(["TRIP_TABLE_NAME"]));
        // A binding would add its construct's name variables (…_tableName_TripData, …_bucketName_…).
        expect(names.filter((name) => /_(tableName|bucketName)_/.test(name))).toEqual([]);
      }
    });

    test("every role carries the account's permissions boundary", () => {
      const roles = ofType("AWS::IAM::Role");
      expect(roles.length).toBeGreaterThan(5);
      for (const [id, role] of roles)
        expect(JSON.stringify(role.Properties.PermissionsBoundary), id).toContain(`:policy/${PERMISSIONS_BOUNDARY}"`);
    });

    test("the prod table has deletion protection", () => {
      const [[, table]] = ofType("AWS::DynamoDB::Table") as [[string, Resource]];
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    });
  });

  describe("3. removal policy", () => {
    test("only the data stores are retained, as RetainExceptOnCreate; everything else is deleted", () => {
      const kept = all().filter(([, r]) => r.DeletionPolicy !== "Delete");
      expect(new Set(kept.map(([, r]) => r.Type))).toEqual(DATA_STORE_TYPES);
      for (const [id, r] of kept)
        expect([id, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([id, "RetainExceptOnCreate", "Retain"]);
      // Named resources that would block a retry after a rolled-back first create are deleted.
      for (const type of [
        "AWS::SSM::Parameter",
        "AWS::Glue::Job",
        "AWS::Glue::Crawler",
        "AWS::Athena::WorkGroup",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::CloudWatch::Alarm",
      ])
        for (const [id, r] of ofType(type)) expect([id, r.DeletionPolicy]).toEqual([id, "Delete"]);
    });
  });

  describe("4. failures replayable for days", () => {
    test("every event-source mapping sends failed batches to the bucket, which Lambda fills with the records", () => {
      const mappings = ofType("AWS::Lambda::EventSourceMapping");
      expect(mappings).toHaveLength(Object.keys(CONSUMERS).length);
      const [[bucketId]] = ofType("AWS::S3::Bucket") as [[string, Resource]];
      for (const [, m] of mappings)
        expect(m.Properties.DestinationConfig).toEqual({
          OnFailure: { Destination: { "Fn::GetAtt": [bucketId, "Arn"] } },
        });
      expect(ofType("AWS::SQS::Queue")).toEqual([]);
    });

    test("failed batches are kept until redriven (no lifecycle rule expires aws/lambda/), then 30 days", () => {
      const [[, bucket]] = ofType("AWS::S3::Bucket") as [[string, Resource]];
      const rules = bucket.Properties.LifecycleConfiguration.Rules as { Prefix?: string; ExpirationInDays?: number }[];
      expect(
        rules.filter(
          (r) =>
            r.ExpirationInDays !== undefined && (r.Prefix === undefined || FAILED_BATCH_PREFIX.startsWith(r.Prefix)),
        ),
      ).toEqual([]);
      expect(rules.find((r) => r.Prefix === REDRIVEN_PREFIX)?.ExpirationInDays).toBeGreaterThanOrEqual(7);
      expect(RETENTION_DAYS.noncurrentVersions).toBeGreaterThanOrEqual(7);
    });
  });

  describe("6. Glue", () => {
    test("the crawler trigger is created after the job and the crawler it names", () => {
      const [[jobId]] = ofType("AWS::Glue::Job") as [[string, Resource]];
      const [[crawlerId]] = ofType("AWS::Glue::Crawler") as [[string, Resource]];
      const [[, trigger]] = ofType("AWS::Glue::Trigger") as [[string, Resource]];
      expect(trigger.DependsOn).toEqual(expect.arrayContaining([jobId, crawlerId]));
    });

    test("a security configuration encrypts the job's and the crawler's logs (and S3 writes) with the pipeline key", () => {
      const [[, config]] = ofType("AWS::Glue::SecurityConfiguration") as [[string, Resource]];
      const key = JSON.stringify(config.Properties.EncryptionConfiguration.CloudWatchEncryption.KmsKeyArn);
      expect(config.Properties.EncryptionConfiguration).toMatchObject({
        CloudWatchEncryption: { CloudWatchEncryptionMode: "SSE-KMS" },
        S3Encryptions: [{ S3EncryptionMode: "SSE-KMS" }],
      });
      expect(key).toContain("PipelineKey");
      const [[, job]] = ofType("AWS::Glue::Job") as [[string, Resource]];
      const [[, crawler]] = ofType("AWS::Glue::Crawler") as [[string, Resource]];
      expect(job.Properties.SecurityConfiguration).toBe(config.Properties.Name);
      expect(crawler.Properties.CrawlerSecurityConfiguration).toBe(config.Properties.Name);
      // CloudWatch Logs may use the key for Glue's log groups; the roles may associate it.
      const [[, pipelineKey]] = ofType("AWS::KMS::Key") as [[string, Resource]];
      const logs = (pipelineKey.Properties.KeyPolicy.Statement as Statement[]).find((s) =>
        JSON.stringify(s).includes("logs."),
      );
      expect(JSON.stringify(logs?.Condition)).toContain(":log-group:/aws-glue/*");
      for (const role of ["MetricsJobRole", "KpiCrawlerRole"]) {
        const [roleId] = ofType("AWS::IAM::Role").find(([id]) => id.startsWith(role))!;
        expect(roleStatements(roleId).flatMap((s) => list(s.Action))).toContain("logs:AssociateKmsKey");
      }
    });

    test("the job role covers what Spark and EMRFS write beside metrics/: _$folder$ markers, the folder key, temp", () => {
      expect(sparkOutputKeys("metrics/")).toEqual(["metrics/*", "metrics_$folder$", "metrics"]);
      const [roleId] = ofType("AWS::IAM::Role").find(([id]) => id.startsWith("MetricsJobRole"))!;
      const writes = roleStatements(roleId).find((s) => list(s.Action).includes("s3:PutObject"))!;
      expect(list(writes.Action).sort()).toEqual(["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]);
      const keys = list<{ "Fn::Join": [string, unknown[]] }>(writes.Resource as never).map((r) =>
        r["Fn::Join"][1].at(-1),
      );
      // Part files, _SUCCESS, _temporary/ and .spark-staging-*/ under metrics/; the markers of
      // metrics/ itself and of --TempDir; dynamic partition overwrite deletes and renames (copy + delete).
      expect(keys).toEqual([
        "/metrics/*",
        "/metrics_$folder$",
        "/metrics",
        "/glue-temp/*",
        "/glue-temp_$folder$",
        "/glue-temp",
      ]);
      // HEAD of a missing marker answers 404 only with an unconditioned ListBucket (else 403: the job fails).
      const listing = roleStatements(roleId).find((s) => list(s.Action).includes("s3:ListBucket"))!;
      expect(listing.Condition).toBeUndefined();
    });

    test("--enable-continuous-cloudwatch-log is gone (no effect on Glue 5.0)", () => {
      const [[, job]] = ofType("AWS::Glue::Job") as [[string, Resource]];
      expect(job.Properties.GlueVersion).toBe("5.0");
      expect(Object.keys(job.Properties.DefaultArguments)).not.toContain("--enable-continuous-cloudwatch-log");
    });
  });

  describe("7. bucket", () => {
    test("lifecycle: Athena results and Glue temp expire in days, noncurrent versions after 30, incomplete uploads after 1", () => {
      const [[, bucket]] = ofType("AWS::S3::Bucket") as [[string, Resource]];
      const rules = bucket.Properties.LifecycleConfiguration.Rules as CfnObject[];
      expect(rules).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Prefix: "athena-results/",
            ExpirationInDays: RETENTION_DAYS.athenaResults,
            Status: "Enabled",
          }),
          expect.objectContaining({
            Prefix: "glue-temp/",
            ExpirationInDays: RETENTION_DAYS.glueTemp,
            Status: "Enabled",
          }),
          expect.objectContaining({
            NoncurrentVersionExpiration: { NoncurrentDays: RETENTION_DAYS.noncurrentVersions },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: "Enabled",
          }),
        ]),
      );
      expect(RETENTION_DAYS.athenaResults).toBeLessThanOrEqual(7);
      expect(RETENTION_DAYS.glueTemp).toBeLessThanOrEqual(7);
    });

    test("object ownership BucketOwnerEnforced (ACLs off)", () => {
      const [[, bucket]] = ofType("AWS::S3::Bucket") as [[string, Resource]];
      expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] });
    });
  });

  describe("8. daily job alarms", () => {
    const rules = () => ofType("AWS::Events::Rule").map(([, r]) => r.Properties);

    test("the scheduling function's errors page", () => {
      const scheduler = ofType("AWS::Lambda::Function").find(
        ([, f]) => f.Properties.Handler === "packages/functions/src/start-metrics-job.handler",
      )![0];
      const alarms = ofType("AWS::CloudWatch::Alarm").filter(
        ([, a]) => a.Properties.MetricName === "Errors" && a.Properties.Dimensions?.[0]?.Value?.Ref === scheduler,
      );
      expect(alarms).toHaveLength(1);
      expect(alarms[0]![1].Properties).toMatchObject({
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    });

    test("a failed crawl of the KPI crawler pages", () => {
      expect(
        rules().find((r) => r.EventPattern?.["detail-type"]?.[0] === "Glue Crawler State Change")?.EventPattern.detail,
      ).toEqual({
        crawlerName: ["prod-trip-pipeline-KpiCrawler"],
        state: ["Failed"],
      });
    });

    test("a job failure pages on the final attempt only", () => {
      const [job] = ofType("AWS::Glue::Job");
      expect(job![1].Properties.MaxRetries).toBe(1);
      const pattern = rules().find(
        (r) => r.EventPattern?.["detail-type"]?.[0] === "Glue Job State Change",
      )!.EventPattern;
      expect(pattern.detail.$or[0]).toEqual({
        jobName: ["prod-trip-pipeline-GenerateTripMetrics"],
        state: ["FAILED", "TIMEOUT", "ERROR"],
        jobRunId: [{ suffix: "_attempt_1" }],
      });
    });
  });

  describe("9. dashboard edge, users, logs", () => {
    test("the site answers with the security headers: CSP (no framing), HSTS a year with subdomains, DENY, nosniff, no-referrer", () => {
      const [[policyId, policy]] = ofType("AWS::CloudFront::ResponseHeadersPolicy") as [[string, Resource]];
      const headers = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      expect(headers.ContentSecurityPolicy).toEqual({ ContentSecurityPolicy: SITE_CSP, Override: true });
      expect(SITE_CSP).toContain("frame-ancestors 'none'");
      expect(headers.StrictTransportSecurity).toMatchObject({ IncludeSubdomains: true, Override: true });
      expect(headers.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(365 * 24 * 3600);
      expect(headers.FrameOptions).toEqual({ FrameOption: "DENY", Override: true });
      expect(headers.ContentTypeOptions).toEqual({ Override: true });
      expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: "no-referrer", Override: true });
      const [[, distribution]] = ofType("AWS::CloudFront::Distribution") as [[string, Resource]];
      const config = distribution.Properties.DistributionConfig;
      expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
      // Origin access control, no legacy origin access identity.
      expect(ofType("AWS::CloudFront::CloudFrontOriginAccessIdentity")).toEqual([]);
      expect(ofType("AWS::CloudFront::OriginAccessControl")).toHaveLength(1);
      expect(config.Origins[0].OriginAccessControlId).toBeDefined();
    });

    test("the page's own CSP names exactly the API's and the hosted UI's origins, and loads nothing inline", () => {
      const html = readFileSync(new URL("../../packages/web/index.html", import.meta.url), "utf8");
      const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1];
      expect(csp).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' %VITE_API_URL% %VITE_AUTH_DOMAIN%",
      );
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle="/);
    });

    test("Cognito: TOTP MFA required, threat protection enforced, deletion protection; refresh-only public client; the data routes need the KPI scope", () => {
      const [[, pool]] = ofType("AWS::Cognito::UserPool") as [[string, Resource]];
      expect(pool.Properties).toMatchObject({
        MfaConfiguration: "ON",
        EnabledMfas: ["SOFTWARE_TOKEN_MFA"],
        DeletionProtection: "ACTIVE",
        UserPoolTier: "PLUS",
      });
      expect(pool.Properties.UserPoolAddOns).toEqual({ AdvancedSecurityMode: "ENFORCED" });
      const [[, client]] = ofType("AWS::Cognito::UserPoolClient") as [[string, Resource]];
      expect(client.Properties.ExplicitAuthFlows).toEqual(["ALLOW_REFRESH_TOKEN_AUTH"]);
      expect(client.Properties.AllowedOAuthScopes).toContain(KPI_READ);
      const routes = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties);
      for (const [key, spec] of Object.entries(DASHBOARD_ROUTES)) {
        const route = routes.find((r) => r.RouteKey === key)!;
        expect(route.AuthorizationScopes, key).toEqual(spec.signedIn ? [KPI_READ] : undefined);
      }
    });

    test("the user pool is retained like the data stores (RetainExceptOnCreate)", () => {
      const [[, pool]] = ofType("AWS::Cognito::UserPool") as [[string, Resource]];
      expect([pool.DeletionPolicy, pool.UpdateReplacePolicy]).toEqual(["RetainExceptOnCreate", "Retain"]);
    });

    test("every log group has a retention and the pipeline key; every function logs to one of them; no LogRetention resources", () => {
      const groups = ofType("AWS::Logs::LogGroup");
      for (const [id, group] of groups) {
        expect(group.Properties.RetentionInDays, id).toBe(LOG_RETENTION);
        expect(JSON.stringify(group.Properties.KmsKeyId), id).toContain("PipelineKey");
      }
      const ids = new Set(groups.map(([id]) => id));
      const functions = ofType("AWS::Lambda::Function");
      expect(functions.length).toBeGreaterThan(8);
      for (const [id, fn] of functions) expect(ids, id).toContain(fn.Properties.LoggingConfig?.LogGroup?.Ref);
      expect(all().filter(([, r]) => r.Type === "Custom::LogRetention")).toEqual([]);
      // Glue's: the job's output and error, the crawler's (named after the security configuration and role).
      const names = groups.map(([, g]) => JSON.stringify(g.Properties.LogGroupName));
      expect(names.filter((n) => n.includes("/aws-glue/"))).toHaveLength(3);
      expect(names.filter((n) => n.includes("/aws/vendedlogs/apis/"))).toHaveLength(1);
    });
  });
}
