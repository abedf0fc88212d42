/**
 * Synthesizes the real app (sst.config.ts's stacks) for a stage without AWS (once per process:
 * SST keeps the project global) and hands out its CloudFormation templates.
 */
import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { App, getStack } from "sst/constructs";
import { initProject } from "sst/project.js";
import { APP_NAME, DEFAULT_REGION } from "../packages/core/src/platform/app";
import config from "../sst.config";

/**
 * The account offline syntheses are made for: a well-formed 12-digit id (SST's "my-account"
 * placeholder trips cfn-lint W1032 and names no real asset bucket), also the account the
 * deploy/iam policies are rendered for in the coverage tests.
 */
export const OFFLINE_ACCOUNT = "123456789012";

export interface SynthesizedApp {
  template(stack: Parameters<typeof getStack>[0]): Template;
  /** Every stack's template, by stack name (what `.ci/run` lints). */
  templates(): Record<string, unknown>;
}

export async function synthesize(stage = "test"): Promise<SynthesizedApp> {
  // A stage must be given: without one sst asks for a personal stage name on stdin.
  await initProject({ stage });
  const app = new App({ mode: "deploy", stage, name: APP_NAME, region: DEFAULT_REGION, account: OFFLINE_ACCOUNT });
  config.stacks(app);
  await app.finish();
  return {
    template: (stack) => Template.fromStack(getStack(stack)),
    templates: () =>
      Object.fromEntries(
        app.node.children
          .filter((child): child is Stack => child instanceof Stack)
          .map((stack) => [stack.stackName, Template.fromStack(stack).toJSON()]),
      ),
  };
}
