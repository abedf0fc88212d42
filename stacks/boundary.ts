/**
 * Every role the app creates carries the account's permissions boundary (deploy/iam/
 * permissions-boundary.json, created before the first deploy: docs/deploy.md). The CloudFormation
 * execution role may only create roles that carry it, so nothing deployed can grant itself more
 * than its own identity policy, nor strip the boundary.
 */
import { Aspects, Aws, CfnResource, type IAspect } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

export const PERMISSIONS_BOUNDARY = "trip-pipeline-boundary";

class RolesCarryTheBoundary implements IAspect {
  visit(node: IConstruct): void {
    // CfnRole and the custom-resource providers' plain CfnResource roles alike.
    if (node instanceof CfnResource && node.cfnResourceType === "AWS::IAM::Role")
      node.addPropertyOverride(
        "PermissionsBoundary",
        `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy/${PERMISSIONS_BOUNDARY}`,
      );
  }
}

export function applyPermissionsBoundary(scope: IConstruct): void {
  Aspects.of(scope).add(new RolesCarryTheBoundary());
}
