// Kubernetes API errors as kube-apiserver reports them (the API server turns each into a Status body).

import { qualifiedResource, RESOURCE_INFO, type Resource } from "./resources.ts";

/** A Kubernetes API error; the API server turns it into a `Status` body. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: number, reason: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export function notFound(resource: Resource, name: string): ApiError {
  const g = RESOURCE_INFO[resource].group;
  return new ApiError(404, "NotFound", `${qualifiedResource(resource)} "${name}" not found`, {
    name,
    ...(g ? { group: g } : {}),
    kind: resource,
  });
}

/** 410 Gone for a watch or continue token older than the retained history. */
export function expiredError(requested: number, oldest: number): ApiError {
  return new ApiError(410, "Expired", `too old resource version: ${requested} (${oldest})`);
}

export function invalid(kind: string, name: string, message: string): ApiError {
  return new ApiError(422, "Invalid", `${kind} "${name}" is invalid: ${message}`, { name, kind });
}
