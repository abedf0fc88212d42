export { ingestFiles, defaultConcurrency, TRAIL_CHUNK_ROWS, type FileSummary, type IngestSummary, type IngestOptions, type IngestProgress } from "./ingest.js";
export { BatchSender, KINESIS_LIMITS, DEFAULT_BACKOFF, type OutboundRecord, type DeliveryFailure, type SenderOptions } from "./sender.js";
export { KinesisRecordSink, type RecordSink, type SinkRecord, type PutOutcome } from "./sink.js";
export { replayFailed, REPLAYED_PREFIX, type KindSummary, type ReplaySummary, type ReplayOptions } from "./replay.js";
