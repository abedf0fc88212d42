/**
 * The IAM policy documents of deploy/iam, rendered as docs/deploy.md's `render` does, and a real
 * IAM evaluator (@cloud-copilot/iam-simulate, offline) to ask what they allow.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import type { Template } from "aws-cdk-lib/assertions";
import { DEFAULT_REGION } from "../../packages/core/src/platform/app";
import { OFFLINE_ACCOUNT } from "../synth";

export const POLICY_DIR = resolve(import.meta.dirname, "..", "..", "deploy", "iam");
export const TEST_ACCOUNT = OFFLINE_ACCOUNT;
export const TEST_REGION = DEFAULT_REGION;

/**
 * A JSON object of a template or policy document, typed as CDK's assertions hand one out
 * (Template.findResources): CloudFormation's schema is open, so its values are not typed further.
 */
export type CfnObject = ReturnType<Template["findResources"]>[string];

export type PolicyDocument = { Version: string; Statement: CfnObject[] };

/** A deploy/iam file as written (placeholders in it). */
export function policyFile(name: string): PolicyDocument {
  return JSON.parse(readFileSync(join(POLICY_DIR, name), "utf8")) as PolicyDocument;
}

/**
 * A deploy/iam file with docs/deploy.md's placeholders filled in. `stage` is what the account
 * is set up for: "prod", or the pattern "pr-*" in the preview account.
 */
export function renderedPolicy(name: string, stage: string): PolicyDocument {
  const text = readFileSync(join(POLICY_DIR, name), "utf8");
  return JSON.parse(
    text.replaceAll("ACCOUNT", TEST_ACCOUNT).replaceAll("REGION", TEST_REGION).replaceAll("STAGE", stage),
  ) as PolicyDocument;
}

/** The stage pattern an account's policies are rendered with (docs/deploy.md, step 2.3 and 6). */
export const accountStage = (stage: string) => (stage === "prod" ? "prod" : "pr-*");

export interface Call {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
  /** The resource's own policy (a KMS key policy). */
  resourcePolicy?: unknown;
}

export interface Principal {
  arn: string;
  identity: PolicyDocument[];
  boundary?: PolicyDocument;
}

/** "Allowed", or why not (the evaluator's verdict or its validation error). */
export async function evaluate(principal: Principal, call: Call): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: principal.arn,
      action: call.action,
      resource: { resource: call.resource, accountId: TEST_ACCOUNT },
      contextVariables: call.context ?? {},
    },
    identityPolicies: principal.identity.map((policy, index) => ({ name: `identity-${index}`, policy })),
    permissionBoundaryPolicies: principal.boundary ? [{ name: "boundary", policy: principal.boundary }] : undefined,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: call.resourcePolicy,
  };
  // The simulator works synchronously behind its promise: yield first, so that a test making
  // hundreds of calls never starves vitest's worker of the heartbeats it owes the main process.
  await new Promise((resolve) => setImmediate(resolve));
  const result = await runSimulation(simulation, {});
  // iam-data lists no HTTP API (/apis/...) resource types for apigateway:POST/PUT/GET/DELETE,
  // which API Gateway v2 authorizes on: evaluate those without the ARN-type validation.
  if (
    result.resultType === "error" &&
    result.errors.message === "no.resource.types" &&
    call.action.startsWith("apigateway:") &&
    call.resource.includes("::/apis")
  )
    return runUnsafeSimulation(simulation, {});
  if (result.resultType === "error") return `error: ${result.errors.message}`;
  return result.overallResult;
}
