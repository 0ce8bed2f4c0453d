// Log capture for tests: every line the klog-style logger writes while a test runs.
import * as log from "../../src/log/index.ts";

/**
 * Collects every line written from now until the test ends (at -v=level, default 0), then restores
 * the previous sink and verbosity.
 */
export function captureLogs(t: { after(fn: () => void): void }, level = 0): string[] {
  const lines: string[] = [];
  const prevSink = log.setSink((l) => lines.push(l));
  const prevLevel = log.getVerbosity();
  log.setVerbosity(level);
  t.after(() => {
    log.setSink(prevSink);
    log.setVerbosity(prevLevel);
  });
  return lines;
}
