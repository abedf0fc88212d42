export { mulberry32, type Random } from "./prng.js";
export {
  END_COLUMNS,
  type GeneratedRow,
  type GeneratedTrip,
  type GenerateOptions,
  generateTrips,
  parseStartDate,
  START_COLUMNS,
} from "./trips.js";
export { type FileTruth, type GroundTruth, groundTruth } from "./truth.js";
export { csvLine, TRIP_FILE_NAMES, type WrittenFiles, writeTripFiles } from "./write.js";
