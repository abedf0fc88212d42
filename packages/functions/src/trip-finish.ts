/**
 * tripFinish: stores trip end events. It is the stream's catch-all (no event filter): records
 * tripBegin's filter takes are left to it, everything else is stored or trailed with a reason.
 */
import { CONSUMERS } from "@trip-pipeline/core/platform/pipeline-spec";
import { fromEnvironment, LAMBDA, type Platform } from "./environment.js";
import { createTripEventHandler } from "./trip-events.js";

export function handlerFor(platform: Platform) {
  return createTripEventHandler(
    CONSUMERS.tripFinish.eventType,
    fromEnvironment("tripFinish", platform),
    CONSUMERS.tripFinish.leaveTo,
  );
}

export const handler = handlerFor(LAMBDA);
