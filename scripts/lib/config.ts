/**
 * What the CLIs take from their environment, parsed in one place; everything else is a flag.
 * AWS_REGION: the region of a deployed stage (a --region flag wins), else the app's default.
 */

import { DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import { z } from "zod/v4";
import { UsageError } from "./cli.js";

const cliEnvironment = z.object({
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-north-1")
    .optional(),
});

export interface CliConfig {
  region: string;
}

export function cliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const parsed = cliEnvironment.safeParse({ AWS_REGION: env.AWS_REGION || undefined });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${String(issue.path[0])} ${issue.message}, got ${JSON.stringify(env.AWS_REGION)}`);
  }
  return { region: parsed.data.AWS_REGION ?? DEFAULT_REGION };
}
