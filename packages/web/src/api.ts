/** The page's side of the API: every answer is parsed with the contract's schema; every failure becomes a sentence. */
import { errorResponse } from "@trip-pipeline/core/dashboard/api";

interface Schema<T> {
  safeParse(input: unknown): { success: true; data: T } | { success: false };
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** GET `path` from the API (`base` is empty when the API shares the page's origin). */
export async function getJson<T>(base: string, path: string, schema: Schema<T>, token?: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      cache: "no-store",
    });
  } catch {
    throw new ApiError("The API cannot be reached. The figures shown may be out of date.");
  }
  if (response.status === 401) throw new ApiError("Your sign-in has expired; signing in again.", 401);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The API answered ${response.status} without a readable body.`, response.status);
  }
  if (!response.ok) {
    const error = errorResponse.safeParse(body);
    throw new ApiError(
      error.success ? `The API refused the request: ${error.data.detail}` : `The API answered ${response.status}.`,
      response.status,
    );
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new ApiError(
      "The API answered in a shape this page does not know (is the page older than the API?).",
      response.status,
    );
  return parsed.data;
}
