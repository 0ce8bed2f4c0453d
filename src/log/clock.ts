// Wall-clock time with microseconds, as klog prints it. Date.now() has whole milliseconds only, so
// the microseconds come from the monotonic clock: now = offset + performance.now(). Every reading
// of both clocks bounds the offset (the true time lies in Date.now()'s millisecond); the offset is
// the least value within all bounds so far. So a time never leaves Date.now()'s current millisecond
// and never goes back, unless the wall clock itself is stepped (NTP, suspend): when the bounds no
// longer meet, they start over from the current reading and the time follows the wall clock.

let low = Number.NEGATIVE_INFINITY;
let high = Number.POSITIVE_INFINITY;

/** Now, in whole microseconds since the epoch. */
export function wallClockMicros(): number {
  const mono = performance.now();
  const wall = Date.now();
  low = Math.max(low, wall - mono);
  high = Math.min(high, wall + 1 - mono);
  if (low >= high) {
    low = wall - mono;
    high = wall + 1 - mono;
  }
  // Clamped: floating-point rounding of low + mono must not leave the millisecond.
  return Math.min(wall * 1000 + 999, Math.max(wall * 1000, Math.floor((low + mono) * 1000)));
}
