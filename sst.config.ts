import type { SSTConfig } from "sst";
import { Pipeline } from "./stacks/Pipeline";
import { Analytics } from "./stacks/Analytics";
import { Dashboard } from "./stacks/Dashboard";
import { APP_NAME, DEFAULT_REGION } from "./packages/core/src/app";

export default {
  config(input) {
    return {
      name: APP_NAME,
      region: input.region ?? DEFAULT_REGION,
    };
  },
  stacks(app) {
    // Production data outlives a `sst remove`; every other stage is disposable.
    app.setDefaultRemovalPolicy(app.stage === "prod" ? "retain" : "destroy");
    app.setDefaultFunctionProps({ runtime: "nodejs20.x", architecture: "arm_64", tracing: "active" });
    app.stack(Pipeline).stack(Analytics).stack(Dashboard);
  },
} satisfies SSTConfig;
