// The reflector's retry delays, as client-go's: exponential steps with jitter, starting over after a
// quiet minute.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 800, maxMs: 30_000 };
// A failure more than this long after the previous one starts the backoff over.
const BACKOFF_RESET_MS = 60_000;

/**
 * The next backoff: a delay in [base/2, base] (random in [0, 1)) where base is the current step
 * (capped at maxMs), and the step after it (doubled, capped). Jitter keeps many clients restarted
 * together from retrying in lockstep.
 */
export function jitteredBackoff(
  stepMs: number,
  maxMs: number,
  random: number,
): { delayMs: number; nextStepMs: number } {
  const base = Math.min(stepMs, maxMs);
  return { delayMs: base / 2 + (random * base) / 2, nextStepMs: Math.min(base * 2, maxMs) };
}

export class Backoff {
  private readonly opts: BackoffOptions;
  private nextDelayMs: number;
  private lastFailureAt = 0;

  constructor(opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.opts = opts;
    this.nextDelayMs = opts.initialMs;
  }

  /**
   * Waits out the next delay, or `atLeastMs` if longer (a server's Retry-After), or until `signal`
   * aborts; then steps the delay up.
   */
  async sleep(signal: AbortSignal, atLeastMs = 0): Promise<void> {
    const now = Date.now();
    if (now - this.lastFailureAt >= BACKOFF_RESET_MS) this.nextDelayMs = this.opts.initialMs;
    this.lastFailureAt = now;
    const { delayMs, nextStepMs } = jitteredBackoff(this.nextDelayMs, this.opts.maxMs, Math.random());
    const delay = Math.max(delayMs, atLeastMs);
    this.nextDelayMs = nextStepMs;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
