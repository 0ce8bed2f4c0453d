// Generic server flags (the generic apiserver's ServerRunOptions), validated as upstream does.
import { specs as flag } from "../../../go/index.ts";
import { inSection, type OptionsOf } from "./group.ts";

export const genericServerFlags = inSection("Generic server", {
  maxRequestsInflight: flag.int(
    "max-requests-inflight",
    400,
    "Most non-mutating requests served at once; beyond it requests are rejected. Zero means no limit.",
  ),
  maxMutatingRequestsInflight: flag.int(
    "max-mutating-requests-inflight",
    200,
    "Most mutating requests served at once; beyond it requests are rejected. Zero means no limit.",
  ),
  requestTimeoutMs: flag.duration(
    "request-timeout",
    60_000,
    "Longest time the server works on a request before timing it out (watches excepted).",
  ),
  shutdownDelayDurationMs: flag.duration(
    "shutdown-delay-duration",
    0,
    "How long to keep serving after a termination signal while /readyz reports failure, so load balancers " +
      "can drain the endpoint.",
  ),
});

export type GenericServerOptions = OptionsOf<typeof genericServerFlags>;

export function validateGenericServer(o: GenericServerOptions): string[] {
  const errors: string[] = [];
  if (o.maxRequestsInflight < 0) errors.push("--max-requests-inflight can not be negative value");
  if (o.maxMutatingRequestsInflight < 0)
    errors.push("--max-mutating-requests-inflight can not be negative value");
  if (o.requestTimeoutMs < 0) errors.push("--request-timeout can not be negative value");
  if (o.shutdownDelayDurationMs < 0) errors.push("--shutdown-delay-duration can not be negative value");
  return errors;
}
