export { START_COLUMNS, END_COLUMNS, generateTrips, parseStartDate, type GenerateOptions, type GeneratedRow, type GeneratedTrip } from "./trips.js";
export { groundTruth, type FileTruth, type GroundTruth } from "./truth.js";
export { writeTripFiles, csvLine, TRIP_FILE_NAMES, type WrittenFiles } from "./write.js";
export { mulberry32, type Random } from "./prng.js";
