/**
 * The resources of one stage's synthesized templates as CloudFormation would make them: their
 * physical names (given, or generated as `<stack>-<logical id>-<suffix>`), their ARNs, and the
 * intrinsic functions of their properties resolved to strings, so that IAM policies can be
 * evaluated against the calls CloudFormation makes for them.
 */
import { type CfnObject, TEST_ACCOUNT, TEST_REGION } from "./iam-policies";

export type CfnResource = { Type: string; Properties?: CfnObject; DependsOn?: unknown };
type CfnTemplate = {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
};

export interface Located {
  stack: string;
  logicalId: string;
  resource: CfnResource;
}

/** How a type is named and which ARN each IAM service's calls for it act on. */
interface TypeRule {
  /** The property holding its name, when the template may set it. */
  name?: (props: CfnObject) => unknown;
  /** CloudFormation generates an opaque id (no name property): KMS keys, user pools, APIs, ... */
  opaque?: boolean;
  lowercase?: boolean;
  /** ARNs by IAM service ("lambda") or by action ("apigateway:POST"), for this resource. */
  arns(r: Resolved): Record<string, (string | undefined)[]>;
}

export interface Resolved {
  id: string;
  props: CfnObject;
  /** Any property value resolved to a string (Ref, GetAtt, Join, Sub, ImportValue, pseudo parameters). */
  str(value: unknown): string;
  /** A Ref or GetAtt Arn of a resource, or an ARN string, as an ARN. */
  arn(value: unknown): string;
}

const arn = (service: string, rest: string, scope: { region?: boolean; account?: boolean } = {}) =>
  `arn:aws:${service}:${scope.region === false ? "" : TEST_REGION}:${scope.account === false ? "" : TEST_ACCOUNT}:${rest}`;
const s3 = (bucketAndKey: string) => `arn:aws:s3:::${bucketAndKey}`;
const keyArn = (r: Resolved, value: unknown) => (value === undefined ? undefined : r.arn(value));
const apiRoutes = (collection: string, name: (r: Resolved) => string) => (r: Resolved) => {
  const api = `arn:aws:apigateway:${TEST_REGION}::/apis/${r.str(r.props.ApiId)}/${collection}`;
  return { "apigateway:POST": [api], apigateway: [`${api}/${name(r)}`] };
};
const glueCatalog = arn("glue", "catalog");

const RULES: Record<string, TypeRule> = {
  "AWS::IAM::Role": {
    name: (p) => p.RoleName,
    arns: (r) => ({ iam: [arn("iam", `role/${r.id}`, { region: false })] }),
  },
  "AWS::IAM::Policy": {
    name: (p) => p.PolicyName,
    arns: (r) => ({
      iam: (r.props.Roles ?? []).map((role: unknown) => arn("iam", `role/${r.str(role)}`, { region: false })),
    }),
  },
  "AWS::Lambda::Function": {
    name: (p) => p.FunctionName,
    arns: (r) => ({
      lambda: [arn("lambda", `function:${r.id}`)],
      iam: [r.arn(r.props.Role)],
      s3: [
        r.props.Code?.S3Bucket === undefined
          ? undefined
          : s3(`${r.str(r.props.Code.S3Bucket)}/${r.str(r.props.Code.S3Key)}`),
      ],
      kms: [keyArn(r, r.props.KmsKeyArn)],
    }),
  },
  "AWS::Lambda::Permission": { arns: (r) => ({ lambda: [r.arn(r.props.FunctionName)] }) },
  "AWS::Lambda::EventSourceMapping": {
    opaque: true,
    arns: (r) => ({ lambda: [arn("lambda", `event-source-mapping:${r.id}`)], kms: [keyArn(r, r.props.KmsKeyArn)] }),
  },
  "AWS::DynamoDB::Table": {
    name: (p) => p.TableName,
    arns: (r) => ({
      dynamodb: [arn("dynamodb", `table/${r.id}`)],
      kms: [keyArn(r, r.props.SSESpecification?.KMSMasterKeyId)],
    }),
  },
  "AWS::Kinesis::Stream": {
    name: (p) => p.Name,
    arns: (r) => ({ kinesis: [arn("kinesis", `stream/${r.id}`)], kms: [keyArn(r, r.props.StreamEncryption?.KeyId)] }),
  },
  "AWS::S3::Bucket": { name: (p) => p.BucketName, lowercase: true, arns: (r) => ({ s3: [s3(r.id)] }) },
  "AWS::S3::BucketPolicy": { arns: (r) => ({ s3: [s3(r.str(r.props.Bucket))] }) },
  "AWS::KMS::Key": { opaque: true, arns: (r) => ({ kms: [arn("kms", `key/${r.id}`)] }) },
  "AWS::SNS::Topic": {
    name: (p) => p.TopicName,
    arns: (r) => ({ sns: [arn("sns", r.id)], kms: [keyArn(r, r.props.KmsMasterKeyId)] }),
  },
  "AWS::SNS::TopicPolicy": { arns: (r) => ({ sns: (r.props.Topics ?? []).map((topic: unknown) => r.arn(topic)) }) },
  "AWS::CloudWatch::Alarm": {
    name: (p) => p.AlarmName,
    arns: (r) => ({ cloudwatch: [arn("cloudwatch", `alarm:${r.id}`)] }),
  },
  "AWS::CloudWatch::Dashboard": {
    name: (p) => p.DashboardName,
    arns: (r) => ({ cloudwatch: [arn("cloudwatch", `dashboard/${r.id}`, { region: false })] }),
  },
  "AWS::Events::Rule": {
    name: (p) => p.Name,
    arns: (r) => ({
      events: [arn("events", `rule/${r.id}`)],
      iam: (r.props.Targets ?? []).map((t: { RoleArn?: unknown }) => keyArn(r, t.RoleArn)),
    }),
  },
  "AWS::Logs::LogGroup": {
    name: (p) => p.LogGroupName,
    arns: (r) => ({ logs: [arn("logs", `log-group:${r.id}`)], kms: [keyArn(r, r.props.KmsKeyId)] }),
  },
  "AWS::Logs::MetricFilter": { arns: (r) => ({ logs: [arn("logs", `log-group:${r.str(r.props.LogGroupName)}`)] }) },
  "AWS::SSM::Parameter": {
    name: (p) => p.Name,
    arns: (r) => ({ ssm: [arn("ssm", `parameter/${r.id.replace(/^\//, "")}`)] }),
  },
  "AWS::Glue::Job": {
    name: (p) => p.Name,
    arns: (r) => ({ glue: [arn("glue", `job/${r.id}`)], iam: [r.arn(r.props.Role)] }),
  },
  "AWS::Glue::Crawler": {
    name: (p) => p.Name,
    arns: (r) => ({ glue: [arn("glue", `crawler/${r.id}`)], iam: [r.arn(r.props.Role)] }),
  },
  "AWS::Glue::Trigger": { name: (p) => p.Name, arns: (r) => ({ glue: [arn("glue", `trigger/${r.id}`)] }) },
  "AWS::Glue::SecurityConfiguration": { name: (p) => p.Name, arns: () => ({}) },
  "AWS::Glue::Database": {
    name: (p) => p.DatabaseInput?.Name,
    arns: (r) => ({ glue: [glueCatalog, arn("glue", `database/${r.id}`)] }),
  },
  "AWS::Glue::Table": {
    name: (p) => p.TableInput?.Name,
    arns: (r) => {
      const database = r.str(r.props.DatabaseName);
      const inDatabase = [glueCatalog, arn("glue", `database/${database}`)];
      return { "glue:GetDatabase": inDatabase, glue: [...inDatabase, arn("glue", `table/${database}/${r.id}`)] };
    },
  },
  "AWS::Athena::WorkGroup": { name: (p) => p.Name, arns: (r) => ({ athena: [arn("athena", `workgroup/${r.id}`)] }) },
  "AWS::Athena::NamedQuery": { arns: (r) => ({ athena: [arn("athena", `workgroup/${r.str(r.props.WorkGroup)}`)] }) },
  "AWS::ApiGatewayV2::Api": {
    opaque: true,
    arns: (r) => ({
      "apigateway:POST": [`arn:aws:apigateway:${TEST_REGION}::/apis`],
      apigateway: [`arn:aws:apigateway:${TEST_REGION}::/apis/${r.id}`],
    }),
  },
  "AWS::ApiGatewayV2::Stage": { arns: apiRoutes("stages", (r) => r.str(r.props.StageName)) },
  "AWS::ApiGatewayV2::Authorizer": { opaque: true, arns: apiRoutes("authorizers", (r) => r.id) },
  "AWS::ApiGatewayV2::Integration": { opaque: true, arns: apiRoutes("integrations", (r) => r.id) },
  "AWS::ApiGatewayV2::Route": { opaque: true, arns: apiRoutes("routes", (r) => r.id) },
  "AWS::Cognito::UserPool": {
    opaque: true,
    arns: (r) => ({ "cognito-idp": [arn("cognito-idp", `userpool/${r.id}`)] }),
  },
  "AWS::Cognito::UserPoolClient": {
    opaque: true,
    arns: (r) => ({ "cognito-idp": [arn("cognito-idp", `userpool/${r.str(r.props.UserPoolId)}`)] }),
  },
  "AWS::Cognito::UserPoolDomain": {
    arns: (r) => ({ "cognito-idp": [arn("cognito-idp", `userpool/${r.str(r.props.UserPoolId)}`)] }),
  },
  "AWS::Cognito::UserPoolResourceServer": {
    arns: (r) => ({ "cognito-idp": [arn("cognito-idp", `userpool/${r.str(r.props.UserPoolId)}`)] }),
  },
  "AWS::CloudFront::Distribution": {
    opaque: true,
    arns: (r) => ({ cloudfront: [arn("cloudfront", `distribution/${r.id}`, { region: false })] }),
  },
  "AWS::CloudFront::Function": {
    name: (p) => p.Name,
    arns: (r) => ({ cloudfront: [arn("cloudfront", `function/${r.id}`, { region: false })] }),
  },
  "AWS::CloudFront::CloudFrontOriginAccessIdentity": {
    opaque: true,
    arns: (r) => ({ cloudfront: [arn("cloudfront", `origin-access-identity/${r.id}`, { region: false })] }),
  },
  "AWS::CloudFront::OriginAccessControl": {
    opaque: true,
    arns: (r) => ({ cloudfront: [arn("cloudfront", `origin-access-control/${r.id}`, { region: false })] }),
  },
  "AWS::CloudFront::ResponseHeadersPolicy": {
    opaque: true,
    arns: (r) => ({ cloudfront: [arn("cloudfront", `response-headers-policy/${r.id}`, { region: false })] }),
  },
};

/** The resource types this module knows how to name; any other fails the coverage test. */
export const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.keys(RULES));

/** One stage's templates (stack name -> template), resolved across stacks (Fn::ImportValue). */
export class StageResources {
  private readonly templates: Record<string, CfnTemplate>;

  constructor(templates: Record<string, unknown>) {
    this.templates = templates as Record<string, CfnTemplate>;
  }

  all(): Located[] {
    return Object.entries(this.templates).flatMap(([stack, t]) =>
      Object.entries(t.Resources).map(([logicalId, resource]) => ({ stack, logicalId, resource })),
    );
  }

  resolved(at: Located): Resolved {
    const str = (value: unknown) => this.str(at.stack, value);
    const rule = RULES[at.resource.Type];
    return {
      id: this.physicalId(at.stack, at.logicalId),
      props: at.resource.Properties ?? {},
      str,
      arn: (value) => {
        const text = str(value);
        return text.startsWith("arn:") ? text : this.arnOf(at.stack, value, rule);
      },
    };
  }

  /** The ARNs a call of `action` on this resource acts on, or undefined when the type has no rule for its service. */
  arnsFor(at: Located, action: string): string[] | undefined {
    const rule = RULES[at.resource.Type];
    if (!rule) return undefined;
    const arns = rule.arns(this.resolved(at));
    const found = arns[action] ?? arns[action.split(":")[0]!];
    return found?.filter((a): a is string => a !== undefined);
  }

  /** The KMS keys by ARN, with their key policies (KMS allows a call only if the key policy does) and tags. */
  keys(): Map<string, { policy: unknown; tags: Record<string, string> }> {
    return new Map(
      this.all()
        .filter((at) => at.resource.Type === "AWS::KMS::Key")
        .map((at) => [
          this.arnsFor(at, "kms:DescribeKey")![0]!,
          { policy: this.deep(at.stack, at.resource.Properties!.KeyPolicy), tags: tagsOf(at.resource) },
        ]),
    );
  }

  /** Every intrinsic function inside `value` resolved. */
  deep(stack: string, value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.deep(stack, item));
    if (value === null || typeof value !== "object") return value;
    if (Object.keys(value).some((key) => key === "Ref" || key.startsWith("Fn::"))) return this.str(stack, value);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.deep(stack, item)]));
  }

  /** The resource's physical name (Ref), as CloudFormation would set it. */
  physicalId(stack: string, logicalId: string): string {
    const resource = this.templates[stack]!.Resources[logicalId];
    if (!resource) throw new Error(`${stack}: no resource ${logicalId}`);
    const rule = RULES[resource.Type];
    const given = rule?.name?.(resource.Properties ?? {});
    if (given !== undefined) return this.str(stack, given);
    if (rule?.opaque) return `generated${logicalId.slice(-8).toLowerCase()}`;
    const generated = `${`${stack}-${logicalId}`.slice(0, 50)}-GENERATED1234`;
    return rule?.lowercase ? generated.toLowerCase() : generated;
  }

  private arnOf(stack: string, value: unknown, fallback: TypeRule | undefined): string {
    const logicalId =
      (value as { Ref?: string }).Ref ?? (value as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"]?.[0];
    const target = logicalId ? this.templates[stack]!.Resources[logicalId] : undefined;
    const rule = target ? RULES[target.Type] : fallback;
    const own =
      target && rule
        ? Object.values(rule.arns(this.resolved({ stack, logicalId: logicalId!, resource: target })))[0]?.[0]
        : undefined;
    if (!own) throw new Error(`${stack}: cannot make an ARN of ${JSON.stringify(value)}`);
    return own;
  }

  /** Resolves intrinsic functions to the strings CloudFormation would give them. */
  str(stack: string, value: unknown): string {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
    if (value === null || typeof value !== "object")
      throw new Error(`${stack}: cannot resolve ${JSON.stringify(value)}`);
    const v = value as CfnObject;
    if ("Ref" in v) return this.ref(stack, v.Ref as string);
    if ("Fn::GetAtt" in v) {
      const [logicalId, attribute] = v["Fn::GetAtt"] as [string, string];
      if (attribute === "Arn") return this.arnOf(stack, { Ref: logicalId }, undefined);
      if (attribute === "StreamArn")
        return `${this.arnOf(stack, { Ref: logicalId }, undefined)}/stream/2026-01-01T00:00:00.000`;
      if (attribute === "LogGroupName") return `/aws/lambda/${this.physicalId(stack, logicalId)}`;
      return `${this.physicalId(stack, logicalId)}.${attribute}`;
    }
    if ("Fn::Join" in v) {
      const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
      return parts.map((part) => this.str(stack, part)).join(separator);
    }
    if ("Fn::Sub" in v) {
      const text = Array.isArray(v["Fn::Sub"]) ? (v["Fn::Sub"][0] as string) : (v["Fn::Sub"] as string);
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => this.ref(stack, name));
    }
    if ("Fn::Select" in v) {
      const [index, list] = v["Fn::Select"] as [number, unknown];
      const items = Array.isArray(list) ? list.map((item) => this.str(stack, item)) : this.str(stack, list).split(",");
      return items[Number(index)]!;
    }
    if ("Fn::Split" in v) {
      const [separator, source] = v["Fn::Split"] as [string, unknown];
      return this.str(stack, source).split(separator).join(",");
    }
    if ("Fn::ImportValue" in v) return this.imported(this.str(stack, v["Fn::ImportValue"]));
    throw new Error(`${stack}: cannot resolve ${JSON.stringify(value)}`);
  }

  private ref(stack: string, name: string): string {
    const pseudo: Record<string, string> = {
      "AWS::AccountId": TEST_ACCOUNT,
      "AWS::Region": TEST_REGION,
      "AWS::Partition": "aws",
      "AWS::URLSuffix": "amazonaws.com",
      "AWS::StackName": stack,
    };
    if (name in pseudo) return pseudo[name]!;
    if (name === "BootstrapVersion") return "30";
    return this.physicalId(stack, name);
  }

  private imported(exportName: string): string {
    for (const [stack, template] of Object.entries(this.templates))
      for (const output of Object.values(template.Outputs ?? {}))
        if (output.Export && this.str(stack, output.Export.Name) === exportName) return this.str(stack, output.Value);
    throw new Error(`no stack exports ${exportName}`);
  }
}

/** The resource's tags as a map (templates write them as a list or a map). */
export function tagsOf(resource: CfnResource): Record<string, string> {
  const tags = resource.Properties?.Tags ?? resource.Properties?.UserPoolTags;
  if (!tags) return {};
  if (Array.isArray(tags)) return Object.fromEntries(tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]));
  return tags as Record<string, string>;
}
