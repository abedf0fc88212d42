/** tripBegin: stores trip start events (the stream's event filter passes only event_type "start"). */
import { CONSUMERS } from "@trip-pipeline/core";
import { fromEnvironment } from "./environment.js";
import { createTripEventHandler } from "./trip-events.js";

export const handler = createTripEventHandler(CONSUMERS.tripBegin.eventType, fromEnvironment("tripBegin"), CONSUMERS.tripBegin.leaveTo);
