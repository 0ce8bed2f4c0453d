// Logging of a retried operation's failures (a reflector's lists and watches) through the log's
// RepeatLimiter: each new cause once, the same cause again at most every few minutes with how often
// it repeated meanwhile, and one line when it works again. A dead API server must not flood the log.

import * as log from "../log/index.ts";

export class FailureLog {
  private readonly fields: Record<string, string>;
  private readonly limiter: log.RepeatLimiter;

  constructor(fields: Record<string, string>, now: () => number = Date.now) {
    this.fields = fields;
    this.limiter = new log.RepeatLimiter({ now });
  }

  /**
   * Logs `msg` with the error unless the same cause was logged within the last few minutes. The
   * cause is the error's message unless given (for errors whose message varies, e.g. with a
   * resourceVersion).
   */
  failed(err: unknown, msg: string, cause?: string): void {
    const held = this.limiter.failed("", cause ?? (err instanceof Error ? err.message : String(err)));
    if (held === undefined) return;
    log.error(err, msg, { ...this.fields, ...(held > 0 ? { repeatedTimes: held } : {}) });
  }

  /** A success: logs `msg` once if a failure was logged since the last success. */
  succeeded(msg: string): void {
    if (this.limiter.recovered("") !== undefined) log.info(msg, this.fields);
  }
}
