// What the Lambda handlers use. Everything else is imported by path (@trip-pipeline/core/<module>);
// ingest and replay are @trip-pipeline/core/ingest.
export * from "./datetime.js";
export * from "./events.js";
export * from "./pipeline-spec.js";
export * from "./logger.js";
export * from "./blob-store.js";
export * from "./failed-trail.js";
export * from "./batch.js";
export * from "./trip-store.js";
export * from "./raw-events.js";
export * from "./matcher.js";
export * from "./kpi-aggregator.js";
export * from "./kpi-drift.js";
