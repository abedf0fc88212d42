/** The SST app's name and default region: sst.config.ts, the local runtime and the CLIs read them here. */
export const APP_NAME = "trip-pipeline";
export const DEFAULT_REGION = "eu-north-1";
