/** An error as one log- and trail-friendly line: `Name: message`. */
export function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * DynamoDB refused the request's content (a number out of range, an oversized item or key, an
 * empty key): sending it again cannot succeed, unlike throttling or a network fault.
 */
export function isValidationError(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === "ValidationException";
}
