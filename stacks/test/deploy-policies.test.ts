/** The IAM policies docs/deploy.md has you create (deploy/iam/), checked for what they promise. */
import { readdirSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { PERMISSIONS_BOUNDARY } from "../boundary";
import { POLICY_DIR as DIR, policyFile } from "./iam-policies";

type Statement = {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
};
const policy = (name: string) => policyFile(name) as { Version: string; Statement: Statement[] };
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const allows = (name: string) => policy(name).Statement.filter((s) => s.Effect === "Allow");

describe("deploy/iam", () => {
  test("every file is a 2012-10-17 policy document", () => {
    const files = readdirSync(DIR).filter((file) => file.endsWith(".json"));
    expect(files.sort()).toEqual([
      "cfn-execution-policy.json",
      "ci-deploy-policy.json",
      "github-oidc-trust.json",
      "permissions-boundary.json",
    ]);
    for (const file of files) expect(policy(file).Version, file).toBe("2012-10-17");
  });

  test("the CI role may pass only the CloudFormation execution role, only to CloudFormation", () => {
    const passes = allows("ci-deploy-policy.json").filter((s) =>
      list(s.Action).some((a) => a === "iam:PassRole" || a === "iam:*"),
    );
    expect(passes).toHaveLength(1);
    expect(passes[0]).toMatchObject({
      Action: "iam:PassRole",
      Resource: "arn:aws:iam::ACCOUNT:role/cdk-hnb659fds-cfn-exec-role-ACCOUNT-REGION",
      Condition: { StringEquals: { "iam:PassedToService": "cloudformation.amazonaws.com" } },
    });
  });

  test("the CI role runs what SST calls itself on the stage's stacks, and writes the asset bucket", () => {
    const statements = allows("ci-deploy-policy.json");
    const stacks = statements.find((s) =>
      list(s.Resource).includes("arn:aws:cloudformation:REGION:ACCOUNT:stack/STAGE-trip-pipeline-*/*"),
    )!;
    expect(list(stacks.Action)).toEqual(
      expect.arrayContaining([
        "cloudformation:CreateStack",
        "cloudformation:UpdateStack",
        "cloudformation:DeleteStack",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:GetTemplate",
      ]),
    );
    expect(statements.some((s) => list(s.Action).includes("cloudformation:ListImports"))).toBe(true);
    const assets = statements.find((s) =>
      list(s.Resource).includes("arn:aws:s3:::cdk-hnb659fds-assets-ACCOUNT-REGION/*"),
    )!;
    expect(list(assets.Action)).toEqual(expect.arrayContaining(["s3:PutObject", "s3:GetObject"]));
  });

  test("no wildcard action in the CI role or the execution policy", () => {
    for (const file of ["ci-deploy-policy.json", "cfn-execution-policy.json"])
      for (const s of allows(file))
        expect(
          list(s.Action).filter((a) => a === "*" || a.endsWith(":*")),
          `${file} ${s.Sid}`,
        ).toEqual([]);
  });

  test("the execution policy creates and changes roles only with the boundary attached, and only the stage's", () => {
    const statements = allows("cfn-execution-policy.json");
    const roleWrites = statements.filter((s) =>
      list(s.Action).some((a) => /^iam:(CreateRole|PutRolePolicy|AttachRolePolicy)$/.test(a)),
    );
    expect(roleWrites).toHaveLength(2);
    for (const s of roleWrites)
      expect(s.Condition?.StringEquals).toEqual({
        "iam:PermissionsBoundary": `arn:aws:iam::ACCOUNT:policy/${PERMISSIONS_BOUNDARY}`,
      });
    // Managed policies: only the Lambda logs policy CDK attaches, never AdministratorAccess.
    for (const s of statements.filter((s) => list(s.Action).includes("iam:AttachRolePolicy")))
      expect(s.Condition?.ArnEquals).toEqual({
        "iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
      });
    for (const s of statements.filter((s) => list(s.Action).some((a) => a.startsWith("iam:"))))
      expect(s.Resource).toBe("arn:aws:iam::ACCOUNT:role/STAGE-trip-pipeline-*");
  });

  test("the boundary denies roles without it and any change to it", () => {
    const denies = policy("permissions-boundary.json").Statement.filter((s) => s.Effect === "Deny");
    const without = denies.find((s) => list(s.Action).includes("iam:CreateRole"))!;
    expect(without.Condition).toEqual({
      StringNotEquals: { "iam:PermissionsBoundary": `arn:aws:iam::ACCOUNT:policy/${PERMISSIONS_BOUNDARY}` },
    });
    expect(denies.some((s) => list(s.Action).includes("iam:DeleteRolePermissionsBoundary"))).toBe(true);
  });

  test("the boundary is no `*` on `*`, limits managed policies, and KMS to the stage's tagged keys", () => {
    const statements = policy("permissions-boundary.json").Statement;
    for (const s of statements.filter((s) => s.Effect === "Allow")) {
      if (list(s.Resource).includes("*"))
        expect(
          list(s.Action).filter((a) => a === "*" || a.endsWith(":*")),
          s.Sid,
        ).toEqual([]);
      expect(list(s.Action), s.Sid).not.toContain("*");
    }
    const attach = statements.find(
      (s) => s.Effect === "Deny" && list(s.Action).includes("iam:AttachRolePolicy") && s.Condition?.ArnNotEquals,
    );
    expect(attach?.Condition?.ArnNotEquals).toEqual({
      "iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    });
    const kms = statements.filter(
      (s) =>
        s.Effect === "Allow" &&
        list(s.Action).some((a) => a.startsWith("kms:")) &&
        list(s.Resource).some((r) => r !== "*"),
    );
    for (const s of kms) expect(s.Condition?.StringEquals?.["aws:ResourceTag/sst:app"], s.Sid).toBe("trip-pipeline");
  });

  test("the execution role administers only keys tagged for its stage", () => {
    const admin = allows("cfn-execution-policy.json").filter((s) =>
      list(s.Action).some((a) => /^kms:(PutKeyPolicy|ScheduleKeyDeletion)$/.test(a)),
    );
    expect(admin).toHaveLength(1);
    expect(admin[0]).toMatchObject({
      Resource: "arn:aws:kms:REGION:ACCOUNT:key/*",
      Condition: {
        StringEquals: { "aws:ResourceTag/sst:app": "trip-pipeline" },
        StringLike: { "aws:ResourceTag/sst:stage": "STAGE" },
      },
    });
  });

  test("the trust policy admits one repository's jobs in one GitHub environment, for STS only", () => {
    const [trust] = policy("github-oidc-trust.json").Statement;
    expect(trust!.Condition).toEqual({
      StringEquals: {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:OWNER/REPO:environment:ENVIRONMENT",
      },
    });
  });
});
