/**
 * tripFinish: stores trip end events. It is the stream's catch-all (no event filter): records
 * tripBegin's filter takes are left to it, everything else is stored or trailed with a reason.
 */
import { CONSUMERS } from "@trip-pipeline/core";
import { fromEnvironment } from "./environment.js";
import { createTripEventHandler } from "./trip-events.js";

export const handler = createTripEventHandler(CONSUMERS.tripFinish.eventType, fromEnvironment("tripFinish"), CONSUMERS.tripFinish.leaveTo);
