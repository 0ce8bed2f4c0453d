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

const CAUSE_REASONS: Record<string, string> = {
  "Required value": "FieldValueRequired",
  "Invalid value": "FieldValueInvalid",
  "Unsupported value": "FieldValueNotSupported",
};

/**
 * 422 Invalid for one field error written as kube's field.Error prints it
 * ("spec.selector: Required value"), with the matching cause in the details.
 */
export function invalid(kind: string, name: string, message: string): ApiError {
  const m = /^([^:\s]+): (Required value|Invalid value|Unsupported value)/.exec(message);
  const causes = m
    ? [{ reason: CAUSE_REASONS[m[2]], message: message.slice(m[1].length + 2), field: m[1] }]
    : undefined;
  return new ApiError(422, "Invalid", `${kind} "${name}" is invalid: ${message}`, {
    name,
    kind,
    ...(causes ? { causes } : {}),
  });
}
