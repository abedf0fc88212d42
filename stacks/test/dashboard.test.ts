import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, test } from "vitest";
import { KPI_READ } from "../../packages/core/src/dashboard/spec";
import { Dashboard } from "../Dashboard";
import { synthesize } from "../synth";
import type { CfnObject } from "./iam-policies";

let dashboard: Template;
beforeAll(async () => {
  dashboard = (await synthesize("prod")).template(Dashboard);
}, 300_000);

const resources = (type: string) => Object.values(dashboard.findResources(type)).map((r) => r.Properties as CfnObject);
const only = (type: string) => {
  const found = resources(type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const text = (value: unknown) => JSON.stringify(value);

/** The inline policy statements of the function serving `route`. */
function statementsOf(route: string): CfnObject[] {
  const fn = Object.entries(dashboard.findResources("AWS::Lambda::Function")).find(
    ([, r]) => r.Properties.Description === `trip-pipeline dashboard ${route}`,
  );
  expect(fn, route).toBeDefined();
  const role = fn![1].Properties.Role["Fn::GetAtt"][0];
  return Object.values(dashboard.findResources("AWS::IAM::Policy"))
    .filter((p) => text(p.Properties.Roles).includes(`"${role}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}
const actionsOf = (statements: CfnObject[]) =>
  statements
    .flatMap((s) => [s.Action].flat())
    .filter((a: string) => !a.startsWith("xray:"))
    .sort();

describe("Dashboard stack (prod)", () => {
  test("the data routes need a Cognito JWT from the pool's own client; health is open", () => {
    const authorizer = only("AWS::ApiGatewayV2::Authorizer");
    expect(authorizer).toMatchObject({ AuthorizerType: "JWT", IdentitySource: ["$request.header.Authorization"] });
    expect(text(authorizer.JwtConfiguration.Issuer)).toMatch(/cognito-idp.*DashboardAuthUserPool/);
    expect(text(authorizer.JwtConfiguration.Audience)).toMatch(/DashboardAuthUserPoolClient/);
    const routes = Object.fromEntries(resources("AWS::ApiGatewayV2::Route").map((r) => [r.RouteKey, r]));
    expect(Object.keys(routes).sort()).toEqual(["GET /api/health", "GET /api/kpis/daily", "GET /api/kpis/live"]);
    for (const key of ["GET /api/kpis/live", "GET /api/kpis/daily"]) {
      expect(routes[key]).toMatchObject({ AuthorizationType: "JWT" });
      expect(routes[key]!.AuthorizerId).toBeDefined();
    }
    expect(routes["GET /api/health"]!.AuthorizationType ?? "NONE").toBe("NONE");
    // An access token with the KPI scope: ID tokens carry no scope and are refused.
    for (const key of ["GET /api/kpis/live", "GET /api/kpis/daily"])
      expect(routes[key]!.AuthorizationScopes).toEqual([KPI_READ]);
    const server = only("AWS::Cognito::UserPoolResourceServer");
    expect(server).toMatchObject({ Identifier: "trip-kpis", Scopes: [{ ScopeName: "read" }] });
  });

  test("users are created by an admin only; the page signs in with the code flow, no client secret, back to the site", () => {
    const pool = only("AWS::Cognito::UserPool");
    expect(pool.AdminCreateUserConfig).toMatchObject({ AllowAdminCreateUserOnly: true });
    const client = only("AWS::Cognito::UserPoolClient");
    expect(client).toMatchObject({
      AllowedOAuthFlows: ["code"],
      AllowedOAuthFlowsUserPoolClient: true,
      GenerateSecret: false,
      SupportedIdentityProviders: ["COGNITO"],
    });
    expect(client.AllowedOAuthFlows).not.toContain("implicit");
    // The redirect goes to the site's CloudFront address, never to a placeholder.
    for (const urls of [client.CallbackURLs, client.LogoutURLs]) {
      expect(text(urls)).toMatch(/Distribution.*DomainName/);
      expect(text(urls)).not.toContain("localhost");
    }
    expect(only("AWS::Cognito::UserPoolDomain").Domain).toBeDefined();
    expect(resources("AWS::Cognito::IdentityPool")).toHaveLength(0);
  });

  test("the API answers browsers from the site's origin only, GET with an Authorization header", () => {
    const cors = only("AWS::ApiGatewayV2::Api").CorsConfiguration;
    expect(text(cors.AllowOrigins)).toMatch(/Distribution.*DomainName/);
    expect(text(cors.AllowOrigins)).not.toContain("localhost");
    expect(cors).toMatchObject({ AllowMethods: ["GET"], AllowHeaders: ["authorization"] });
    expect(only("AWS::ApiGatewayV2::Stage").DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 20,
      ThrottlingBurstLimit: 40,
    });
  });

  test("the site: the Vite build in a private bucket behind CloudFront, built with the API and pool values", () => {
    const distribution = only("AWS::CloudFront::Distribution").DistributionConfig;
    expect(distribution.DefaultCacheBehavior.ViewerProtocolPolicy).toBe("redirect-to-https");
    expect(distribution.DefaultRootObject).toBe("index.html");
    const deployment = Object.values(dashboard.findResources("Custom::S3Uploader"))[0]!.Properties;
    const replaced = text(deployment.replaceValues);
    for (const name of ["VITE_API_URL", "VITE_AUTH_DOMAIN", "VITE_AUTH_CLIENT_ID"])
      expect(replaced).toContain(`{{ ${name} }}`);
    expect(replaced).toMatch(/DashboardApi/);
  });

  test("each function may do only what its route needs", () => {
    expect(actionsOf(statementsOf("GET /api/kpis/daily"))).toEqual(["kms:Decrypt", "s3:GetObject", "s3:ListBucket"]);
    const daily = statementsOf("GET /api/kpis/daily");
    expect(text(daily.find((s) => s.Action === "s3:GetObject")!.Resource)).toMatch(/\/metrics\/\*/);
    expect(daily.find((s) => s.Action === "s3:ListBucket")!.Condition).toEqual({
      StringLike: { "s3:prefix": ["metrics/*"] },
    });
    // The live route reads only the read model's KPI# partitions, never a trip.
    expect(actionsOf(statementsOf("GET /api/kpis/live"))).toEqual(["dynamodb:Query", "kms:Decrypt"]);
    const live = statementsOf("GET /api/kpis/live");
    expect(live.find((s) => s.Action === "dynamodb:Query")!.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["KPI#*"] },
    });
    expect(text(live.find((s) => s.Action === "dynamodb:Query")!.Resource)).not.toMatch(/index/);
    expect(actionsOf(statementsOf("GET /api/health"))).toEqual([]);
    for (const route of ["GET /api/kpis/live", "GET /api/kpis/daily", "GET /api/health"]) {
      expect(
        actionsOf(statementsOf(route)).filter((action: string) => action === "*" || action.endsWith(":*")),
      ).toEqual([]);
    }
  });
});
