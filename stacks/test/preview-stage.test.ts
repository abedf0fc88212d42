/** A preview stage (pr-1), as a pull request deploys it into the preview account. */
import { beforeAll } from "vitest";
import { synthesize } from "../synth";
import { policyCoverage } from "./policy-coverage";

let templates: Record<string, unknown>;
beforeAll(async () => {
  templates = (await synthesize("pr-1")).templates();
});

policyCoverage("pr-1", () => templates);
