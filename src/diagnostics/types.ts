// What the diagnostics API group serves besides the scrape status book: the start-up self-check's
// results (src/server runs the checks; this folder only reads them).

export type SelfCheckName =
  | "front-proxy-ca"
  | "apiservice-available"
  | "kubelet-certificates"
  | "first-scrape";

export interface SelfCheckResult {
  name: SelfCheckName;
  /** Pending: not decided yet; Skipped: cannot be checked here (e.g. not permitted to read it). */
  status: "Passed" | "Failed" | "Pending" | "Skipped";
  /** What was found, in a sentence. */
  message: string;
  /** What to do about a failure. */
  action?: string;
  /** When the status last changed, Unix ms. */
  sinceMs: number;
}

export interface SelfCheckReader {
  results(): readonly SelfCheckResult[];
}
