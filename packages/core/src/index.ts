// What the Lambda handlers use. Everything else is imported by path (@trip-pipeline/core/<module>);
// ingest and replay are @trip-pipeline/core/ingest.
export * from "./datetime.js";
export * from "./contract.js";
export * from "./dynamo-number.js";
export * from "./events.js";
export * from "./pipeline-spec.js";
export * from "./logger.js";
export * from "./blob-store.js";
export * from "./failed-trail.js";
export * from "./retry.js";
export * from "./concurrency.js";
export * from "./errors.js";
export * from "./write-request.js";
export * from "./batch-write.js";
export * from "./trip-store.js";
export * from "./raw-events.js";
export * from "./matcher.js";
