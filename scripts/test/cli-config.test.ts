import { expect, test } from "vitest";
import { cliConfig } from "../lib/config.js";

test("the CLIs' region: AWS_REGION when set, the app's default otherwise; a malformed one is a usage error naming it", () => {
  expect(cliConfig({ AWS_REGION: "eu-west-1" })).toEqual({ region: "eu-west-1" });
  expect(cliConfig({})).toEqual({ region: "eu-north-1" });
  expect(cliConfig({ AWS_REGION: "" })).toEqual({ region: "eu-north-1" });
  expect(() => cliConfig({ AWS_REGION: "Europe" })).toThrow(
    'AWS_REGION must be an AWS region such as eu-north-1, got "Europe"',
  );
});
