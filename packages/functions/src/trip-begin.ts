/** tripBegin: stores trip start events (the stream's event filter passes only event_type "start"). */
import { CONSUMERS } from "@trip-pipeline/core/platform/pipeline-spec";
import { fromEnvironment, LAMBDA, type Platform } from "./environment.js";
import { createTripEventHandler } from "./trip-events.js";

export function handlerFor(platform: Platform) {
  return createTripEventHandler(
    CONSUMERS.tripBegin.eventType,
    fromEnvironment("tripBegin", platform),
    CONSUMERS.tripBegin.leaveTo,
  );
}

export const handler = handlerFor(LAMBDA);
