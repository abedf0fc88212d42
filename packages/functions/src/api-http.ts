/**
 * What the dashboard API's handlers share: JSON responses that are never cached, 400 with
 * {error, detail} for bad parameters, and a 500 that says only where to look: the stack trace
 * and the error's message go to the function's log, never to the caller.
 */

import type { ErrorResponse } from "@trip-pipeline/core/dashboard/api";
import type { Logger } from "@trip-pipeline/core/platform/logger";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { LAMBDA, type Platform, platformLogger } from "./environment.js";

export type ApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };
export type ApiHandler = (event: APIGatewayProxyEventV2, context?: { awsRequestId?: string }) => Promise<ApiResult>;

export function respond(statusCode: number, body: unknown): ApiResult {
  return {
    statusCode,
    // Figures change every few seconds; a cached answer would show old revenue as current.
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}

export function badRequest(detail: string): ApiResult {
  return respond(400, { error: "bad_request", detail } satisfies ErrorResponse);
}

/** A route's handler: `answer` returns the response; anything it throws becomes a bare 500. */
export function apiRoute(
  name: string,
  answer: (event: APIGatewayProxyEventV2, logger: Logger) => Promise<ApiResult>,
  platform: Platform = LAMBDA,
): ApiHandler {
  return async (event, context) => {
    const requestId = context?.awsRequestId ?? event.requestContext?.requestId;
    const logger = platformLogger(name, platform, { requestId });
    try {
      const result = await answer(event, logger);
      logger.info({ route: event.routeKey, status: result.statusCode }, "answered");
      return result;
    } catch (error) {
      logger.error({ err: error, route: event.routeKey }, "request failed");
      return respond(500, {
        error: "internal_error",
        detail: `the request could not be answered (request ${requestId ?? "unknown"}); the function's log has the reason`,
      } satisfies ErrorResponse);
    }
  };
}
