import { Aws, Duration, Fn, RemovalPolicy, type Stack } from "aws-cdk-lib";
import type { CfnApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  HeadersFrameOption,
  HeadersReferrerPolicy,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { S3BucketOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import {
  AccountRecovery,
  type CfnUserPoolClient,
  FeaturePlan,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  StandardThreatProtectionMode,
  UserPoolClientIdentityProvider,
} from "aws-cdk-lib/aws-cognito";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Api, type ApiFunctionRouteProps, Cognito, type StackContext, StaticSite, use } from "sst/constructs";
import {
  CURRENCY_SETTING,
  currencyOf,
  DASHBOARD_FUNCTION,
  DASHBOARD_ROUTES,
  type DashboardRoute,
  KPI_READ,
  KPI_READ_SCOPE,
} from "../packages/core/src/dashboard/spec";
import { FUNCTION_ENV } from "../packages/core/src/platform/config-names";
import { ACCESS, type FunctionAccess, grantAccess } from "./access";
import { appLogGroup, functionLogGroup, LOG_GROUP_PREFIXES, providersLogToGroups } from "./logs";
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
  providersLogToGroups(stack, key);

  const auth = new Cognito(stack, "DashboardAuth", {
    login: ["email"],
    // The page only calls the API with a user pool token: no AWS credentials for browsers.
    identityPoolFederation: false,
    cdk: {
      userPool: {
        // Revenue figures are never anonymous: no self sign-up, an admin invites each user.
        selfSignUpEnabled: false,
        accountRecovery: AccountRecovery.EMAIL_ONLY,
        passwordPolicy: {
          minLength: 12,
          requireDigits: true,
          requireLowercase: true,
          requireUppercase: true,
          requireSymbols: false,
          tempPasswordValidity: Duration.days(3),
        },
        // A second factor for every user in prod (TOTP apps only: no SMS to pay for or to intercept); optional elsewhere.
        mfa: prod ? Mfa.REQUIRED : Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        // Threat protection (compromised credentials, adaptive risk) blocks risky sign-ins: the
        // Plus plan, priced per active user (docs/dashboard.md).
        featurePlan: FeaturePlan.PLUS,
        standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
        deletionProtection: prod,
        // The removal policy is the data stores' one (stacks/removal.ts): the pool holds the users.
      },
      userPoolClient: {
        generateSecret: false,
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.custom(KPI_READ)],
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
  // Only the hosted UI's authorization code flow (the page adds PKCE) and refreshes of its
  // tokens: no SRP or password sign-in through the public client, around the hosted UI's MFA.
  const client = auth.cdk.userPoolClient.node.defaultChild as CfnUserPoolClient;
  client.explicitAuthFlows = ["ALLOW_REFRESH_TOKEN_AUTH"];

  // Hosted UI domains are global per region: the account keeps stages of every account apart.
  // Hosted UI prefixes allow lowercase letters, digits and hyphens only.
  const domainPrefix = `trip-kpis-${app.stage.toLowerCase().replace(/[^a-z0-9-]/g, "-")}-${Aws.ACCOUNT_ID}`;
  const signIn = auth.cdk.userPool.addDomain("DashboardAuthDomain", { cognitoDomain: { domainPrefix } });

  // The scope the data routes require; the client is allowed to ask for it.
  const kpis = auth.cdk.userPool.addResourceServer("KpiApi", {
    identifier: KPI_READ_SCOPE.resourceServer,
    scopes: [new ResourceServerScope({ scopeName: KPI_READ_SCOPE.scope, scopeDescription: "Read the trip KPIs" })],
  });
  client.node.addDependency(kpis);

  /** What each route's function may do (stacks/access.ts); health reads nothing. */
  const access: Record<DashboardRoute, FunctionAccess | undefined> = {
    "GET /api/kpis/live": ACCESS.dashboardLive,
    "GET /api/kpis/daily": ACCESS.dashboardDaily,
    "GET /api/health": undefined,
  };
  // The stage's currency labels the money figures: KPI_CURRENCY in the deploy's environment (default USD).
  const currency = { [CURRENCY_SETTING.env]: currencyOf(process.env) };
  const environment: Record<DashboardRoute, Record<string, string>> = {
    "GET /api/kpis/live": { [FUNCTION_ENV.tripTable]: table.tableName, ...currency },
    "GET /api/kpis/daily": { [FUNCTION_ENV.analyticsBucket]: bucket.bucketName, ...currency },
    "GET /api/health": {},
  };

  // The access log: the stack's, with a retention, encrypted (stacks/logs.ts).
  const accessLog = appLogGroup(
    stack,
    "DashboardApiAccessLog",
    `${LOG_GROUP_PREFIXES.api}${stack.stackName}-DashboardApi`,
    key,
  );
  const api = new Api(stack, "DashboardApi", {
    accessLog: { destinationArn: accessLog.logGroupArn },
    authorizers: {
      cognito: { type: "user_pool", userPool: { id: auth.userPoolId, clientIds: [auth.userPoolClientId] } },
    },
    // A handful of people refreshing every few seconds; the cap bounds what a leaked token can cost.
    defaults: { authorizer: "cognito", authorizationScopes: [KPI_READ], throttle: { rate: 20, burst: 40 } },
    routes: Object.fromEntries(
      (Object.keys(DASHBOARD_ROUTES) as DashboardRoute[]).map((route): [string, ApiFunctionRouteProps<"cognito">] => [
        route,
        {
          ...(DASHBOARD_ROUTES[route].signedIn
            ? { authorizer: "cognito", authorizationScopes: [KPI_READ] }
            : { authorizer: "none" }),
          function: {
            handler: DASHBOARD_ROUTES[route].handler,
            description: `trip-pipeline dashboard ${route}`,
            timeout: DASHBOARD_FUNCTION.timeoutSeconds,
            memorySize: DASHBOARD_FUNCTION.memoryMb,
            logGroup: functionLogGroup(stack, route.replace(/[^A-Za-z0-9]+/g, "-").replace(/-$/, ""), key),
            environment: environment[route],
          },
        },
      ]),
    ),
    cors: {
      allowOrigins: [PLACEHOLDER_ORIGIN],
      allowMethods: ["GET"],
      allowHeaders: ["authorization"],
      maxAge: "1 hour",
    },
  });

  const resources = { tableArn: table.tableArn, bucketArn: bucket.bucketArn, keyArn: key.keyArn };
  for (const route of Object.keys(DASHBOARD_ROUTES) as DashboardRoute[]) {
    const granted = access[route];
    if (granted) grantAccess(api.getFunction(route)!, granted, resources);
  }

  // The site's own bucket, so CloudFront reads it through origin access control (SigV4, the
  // bucket policy names the distribution) rather than SST's legacy origin access identity.
  const siteBucket = new Bucket(stack, "DashboardSiteAssets", {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    // Built files only, uploaded again by every deploy.
    autoDeleteObjects: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const domain = dashboardDomain();
  const site = new StaticSite(stack, "DashboardSite", {
    path: "packages/web",
    buildCommand: "pnpm run build",
    buildOutput: "dist",
    // Replaced in the built files at deploy time (the values exist only then).
    environment: {
      VITE_API_URL: api.url,
      VITE_AUTH_DOMAIN: signIn.baseUrl(),
      VITE_AUTH_CLIENT_ID: auth.userPoolClientId,
    },
    vite: { types: "src/sst-env.d.ts" },
    ...(domain && { customDomain: { domainName: domain.name, hostedZone: domain.hostedZone } }),
    cdk: {
      bucket: siteBucket,
      distribution: {
        defaultBehavior: {
          origin: S3BucketOrigin.withOriginAccessControl(siteBucket),
          viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          responseHeadersPolicy: securityHeaders(stack),
        },
        // Only with a certificate of our own: the default *.cloudfront.net one cannot be limited.
        ...(domain && { minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021 }),
      },
    },
  });

  // The site's address exists only with its distribution, which is built from the API's and
  // the pool's values: set it on the client and the API's CORS afterwards (no cycle: the
  // distribution itself depends on neither).
  const siteOrigin = site.customDomainUrl ?? site.url!;
  client.callbackUrLs = [`${siteOrigin}/`];
  client.logoutUrLs = [`${siteOrigin}/`];
  (api.cdk.httpApi.node.defaultChild as CfnApi).addPropertyOverride("CorsConfiguration.AllowOrigins", [siteOrigin]);

  stack.addOutputs({
    DashboardUrl: siteOrigin,
    DashboardApiUrl: api.url,
    DashboardUserPoolId: auth.userPoolId,
    DashboardSignIn: Fn.join("", [signIn.baseUrl(), "/login"]),
  });
  return { api, auth, site };
}

/**
 * The page's security headers. Its CSP is in two parts: this header holds what a <meta> CSP
 * cannot (frame-ancestors) and what names no deploy-time value; packages/web/index.html's
 * <meta> CSP names exactly the API's and the hosted UI's origins (filled in at deploy time, as
 * the header cannot be: the API's CORS names the distribution, which would be a cycle).
 */
export const SITE_CSP = "frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'";

function securityHeaders(stack: Stack): ResponseHeadersPolicy {
  return new ResponseHeadersPolicy(stack, "DashboardSecurityHeaders", {
    comment: "trip-pipeline dashboard: CSP, HSTS, no framing, nosniff, no referrer",
    securityHeadersBehavior: {
      contentSecurityPolicy: { contentSecurityPolicy: SITE_CSP, override: true },
      strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
      contentTypeOptions: { override: true },
      referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
    },
  });
}

/**
 * An optional custom domain for the site (docs/dashboard.md): DASHBOARD_DOMAIN, in the Route 53
 * zone DASHBOARD_HOSTED_ZONE of the account; SST issues its certificate in us-east-1.
 */
function dashboardDomain(): { name: string; hostedZone: string } | undefined {
  const name = process.env.DASHBOARD_DOMAIN;
  const hostedZone = process.env.DASHBOARD_HOSTED_ZONE;
  if (!name) return undefined;
  if (!hostedZone) throw new Error("DASHBOARD_DOMAIN needs DASHBOARD_HOSTED_ZONE (the Route 53 zone it belongs to)");
  return { name, hostedZone };
}
