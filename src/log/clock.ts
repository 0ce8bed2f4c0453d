// Wall-clock time with microseconds, as klog prints it. Date.now() has whole milliseconds only, so
// the microseconds come from the monotonic clock: now = offset + performance.now(). The offset is
// performance.timeOrigin (the wall-clock time of performance.now() = 0, with a fraction) as long as
// it agrees with every reading of Date.now() so far; each reading bounds the offset, since the true
// time lies within Date.now()'s millisecond. The result is kept within Date.now()'s current
// millisecond and never goes back, unless the wall clock itself is stepped (NTP, suspend): then the
// bounds no longer meet, start over from the current reading, and the time follows the wall clock.

let low = Number.NEGATIVE_INFINITY;
let high = Number.POSITIVE_INFINITY;
let last = 0;

/** Now, in whole microseconds since the epoch. */
export function wallClockMicros(): number {
  // Date.now() read between two monotonic readings: valid bounds even if the thread is preempted.
  const before = performance.now();
  const wall = Date.now();
  const mono = performance.now();
  low = Math.max(low, wall - mono);
  high = Math.min(high, wall + 1 - before);
  if (low >= high) {
    low = wall - mono;
    high = wall + 1 - before;
  }
  const offset = Math.min(Math.max(performance.timeOrigin, low), high);
  const first = wall * 1000;
  const end = first + 999; // the millisecond's last microsecond
  const us = Math.floor((offset + mono) * 1000);
  last = Math.min(end, Math.max(first, us, last <= end ? last : first));
  return last;
}
