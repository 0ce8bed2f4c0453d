// Logging of a retried operation's failures (a reflector's lists and watches): each new cause once,
// the same cause again at most every few minutes with how often it repeated meanwhile, and one
// line when it works again. A dead API server must not flood the log.

import * as log from "../log/index.ts";

const REPEAT_LOG_MS = 5 * 60_000;

// Causes remembered at once; beyond that the longest-unlogged is forgotten (and would log again).
const MAX_CAUSES = 16;

export class FailureLog {
  private readonly fields: Record<string, string>;
  private readonly now: () => number;
  // Per cause (the error message): when it was last logged and how often it recurred unlogged since.
  private readonly causes = new Map<string, { loggedAt: number; repeats: number }>();
  // A failure was logged since the last success: the recovery is logged too.
  private outstanding = false;

  constructor(fields: Record<string, string>, now: () => number = Date.now) {
    this.fields = fields;
    this.now = now;
  }

  /**
   * Logs `msg` with the error unless the same cause was logged within the last few minutes. The
   * cause is the error's message unless given (for errors whose message varies, e.g. with a
   * resourceVersion).
   */
  failed(err: unknown, msg: string, cause?: string): void {
    const message = cause ?? (err instanceof Error ? err.message : String(err));
    const now = this.now();
    const seen = this.causes.get(message);
    if (seen && now - seen.loggedAt < REPEAT_LOG_MS) {
      seen.repeats++;
      return;
    }
    log.error(err, msg, {
      ...this.fields,
      ...(seen && seen.repeats > 0 ? { repeatedTimes: seen.repeats } : {}),
    });
    this.causes.delete(message);
    this.causes.set(message, { loggedAt: now, repeats: 0 });
    if (this.causes.size > MAX_CAUSES) this.causes.delete(this.causes.keys().next().value as string);
    this.outstanding = true;
  }

  /** A success: logs `msg` once if a failure was logged since the last success. */
  succeeded(msg: string): void {
    if (!this.outstanding) return;
    this.outstanding = false;
    log.info(msg, this.fields);
  }
}
