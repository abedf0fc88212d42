/** tripBegin: stores trip start events (the stream's event filter passes only event_type "start"). */
import { fromEnvironment } from "./environment.js";
import { createTripEventHandler } from "./trip-events.js";

export const handler = createTripEventHandler("start", fromEnvironment("tripBegin"));
