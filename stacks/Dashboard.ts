import { Aws, Duration, Fn, RemovalPolicy } from "aws-cdk-lib";
import { CfnApi } from "aws-cdk-lib/aws-apigatewayv2";
import { AccountRecovery, CfnUserPoolClient, OAuthScope, UserPoolClientIdentityProvider } from "aws-cdk-lib/aws-cognito";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Api, Cognito, StaticSite, use, type ApiFunctionRouteProps, type StackContext } from "sst/constructs";
import { DASHBOARD_FUNCTION, DASHBOARD_ROUTES, type DashboardRoute } from "../packages/core/src/dashboard-spec";
import { KPI_PREFIX } from "../packages/core/src/entities";
import { METRICS_PREFIX } from "../packages/core/src/pipeline-spec";
import { Pipeline } from "./Pipeline";

/** Filled in once the site's address exists (it depends on values the site is built with). */
const PLACEHOLDER_ORIGIN = "https://localhost";

/**
 * The KPI dashboard: a static page (CloudFront + S3), an HTTP API whose data routes need a
 * Cognito access token, and the user pool (admins create the users; see docs/dashboard.md).
 */
export function Dashboard({ stack, app }: StackContext) {
  const { table, bucket, key } = use(Pipeline);
  const prod = app.stage === "prod";

  const auth = new Cognito(stack, "DashboardAuth", {
    login: ["email"],
    // The page only calls the API with a user pool token: no AWS credentials for browsers.
    identityPoolFederation: false,
    cdk: {
      userPool: {
        // Revenue figures are never anonymous: no self sign-up, an admin invites each user.
        selfSignUpEnabled: false,
        accountRecovery: AccountRecovery.EMAIL_ONLY,
        passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: false, tempPasswordValidity: Duration.days(3) },
        removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      },
      userPoolClient: {
        generateSecret: false,
        // Only the hosted UI's authorization code flow (the page adds PKCE); no passwords through the page.
        authFlows: {},
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [OAuthScope.OPENID, OAuthScope.EMAIL],
          callbackUrls: [`${PLACEHOLDER_ORIGIN}/`],
          logoutUrls: [`${PLACEHOLDER_ORIGIN}/`],
        },
        supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
        preventUserExistenceErrors: true,
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.hours(12),
      },
    },
  });
  // Hosted UI domains are global per region: the account keeps stages of every account apart.
  // Hosted UI prefixes allow lowercase letters, digits and hyphens only.
  const domainPrefix = `trip-kpis-${app.stage.toLowerCase().replace(/[^a-z0-9-]/g, "-")}-${Aws.ACCOUNT_ID}`;
  const domain = auth.cdk.userPool.addDomain("DashboardAuthDomain", { cognitoDomain: { domainPrefix } });

  const permissions: Record<DashboardRoute, PolicyStatement[]> = {
    "GET /api/kpis/live": [
      // One Query on the day's KPI# partition (the live read model); no trip data.
      new PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: [table.tableArn],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${KPI_PREFIX}*`] } },
      }),
      new PolicyStatement({ actions: ["kms:Decrypt"], resources: [key.keyArn] }),
    ],
    "GET /api/kpis/daily": [
      new PolicyStatement({ actions: ["s3:ListBucket"], resources: [bucket.bucketArn], conditions: { StringLike: { "s3:prefix": [`${METRICS_PREFIX}*`] } } }),
      new PolicyStatement({ actions: ["s3:GetObject"], resources: [`${bucket.bucketArn}/${METRICS_PREFIX}*`] }),
      new PolicyStatement({ actions: ["kms:Decrypt"], resources: [key.keyArn] }),
    ],
    "GET /api/health": [],
  };
  const environment: Record<DashboardRoute, Record<string, string>> = {
    "GET /api/kpis/live": { TRIP_TABLE_NAME: table.tableName },
    "GET /api/kpis/daily": { METRICS_BUCKET_NAME: bucket.bucketName },
    "GET /api/health": {},
  };

  const api = new Api(stack, "DashboardApi", {
    authorizers: {
      cognito: { type: "user_pool", userPool: { id: auth.userPoolId, clientIds: [auth.userPoolClientId] } },
    },
    // A handful of people refreshing every few seconds; the cap bounds what a leaked token can cost.
    defaults: { authorizer: "cognito", throttle: { rate: 20, burst: 40 } },
    routes: Object.fromEntries(
      (Object.keys(DASHBOARD_ROUTES) as DashboardRoute[]).map((route): [string, ApiFunctionRouteProps<"cognito">] => [
        route,
        {
          authorizer: DASHBOARD_ROUTES[route].signedIn ? "cognito" : "none",
          function: {
            handler: DASHBOARD_ROUTES[route].handler,
            description: `trip-pipeline dashboard ${route}`,
            timeout: DASHBOARD_FUNCTION.timeoutSeconds,
            memorySize: DASHBOARD_FUNCTION.memoryMb,
            logRetention: "one_month",
            environment: environment[route],
            permissions: permissions[route],
          },
        },
      ]),
    ),
    cors: { allowOrigins: [PLACEHOLDER_ORIGIN], allowMethods: ["GET"], allowHeaders: ["authorization"], maxAge: "1 hour" },
  });

  const site = new StaticSite(stack, "DashboardSite", {
    path: "packages/web",
    buildCommand: "pnpm run build",
    buildOutput: "dist",
    // Replaced in the built files at deploy time (the values exist only then).
    environment: { VITE_API_URL: api.url, VITE_AUTH_DOMAIN: domain.baseUrl(), VITE_AUTH_CLIENT_ID: auth.userPoolClientId },
    vite: { types: "src/sst-env.d.ts" },
  });

  // The site's address exists only with its distribution, which is built from the API's and
  // the pool's values: set it on the client and the API's CORS afterwards (no cycle: the
  // distribution itself depends on neither).
  const siteOrigin = site.url!;
  const client = auth.cdk.userPoolClient.node.defaultChild as CfnUserPoolClient;
  client.callbackUrLs = [`${siteOrigin}/`];
  client.logoutUrLs = [`${siteOrigin}/`];
  (api.cdk.httpApi.node.defaultChild as CfnApi).addPropertyOverride("CorsConfiguration.AllowOrigins", [siteOrigin]);

  stack.addOutputs({
    DashboardUrl: siteOrigin,
    DashboardApiUrl: api.url,
    DashboardUserPoolId: auth.userPoolId,
    DashboardSignIn: Fn.join("", [domain.baseUrl(), "/login"]),
  });
  return { api, auth, site };
}
