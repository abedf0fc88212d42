/** tripFinish: stores trip end events (the stream's event filter passes only event_type "end"). */
import { fromEnvironment } from "./environment.js";
import { createTripEventHandler } from "./trip-events.js";

export const handler = createTripEventHandler("end", fromEnvironment("tripFinish"));
