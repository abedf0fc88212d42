import type { SSTConfig } from "sst";
import { APP_NAME, DEFAULT_REGION } from "./packages/core/src/platform/app";
import { Analytics } from "./stacks/Analytics";
import { applyPermissionsBoundary } from "./stacks/boundary";
import { Dashboard } from "./stacks/Dashboard";
import { Pipeline } from "./stacks/Pipeline";
import { applyRemovalPolicies } from "./stacks/removal";

export default {
  config(input) {
    return {
      name: APP_NAME,
      region: input.region ?? DEFAULT_REGION,
    };
  },
  stacks(app) {
    // Prod keeps its data stores (RetainExceptOnCreate) and nothing else; other stages keep nothing.
    applyRemovalPolicies(app, app.stage);
    // Every role carries the account's permissions boundary (docs/deploy.md).
    applyPermissionsBoundary(app);
    // Lambda runs Node 22 (nodejs20.x is deprecated); local tooling still runs on Node 20.
    app.setDefaultFunctionProps({ runtime: "nodejs22.x", architecture: "arm_64", tracing: "active" });
    app.stack(Pipeline).stack(Analytics).stack(Dashboard);
  },
} satisfies SSTConfig;
