// Log capture for tests: every line the klog-style logger writes while a test runs.
import { after, before, beforeEach } from "node:test";
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

/**
 * For a whole test file: `lines` holds what was written during the current test (emptied before
 * each), at -v=level; the previous sink and verbosity come back after the file's tests.
 */
export function captureFileLogs(level = 0): { lines: string[] } {
  const captured = { lines: [] as string[] };
  let restoreSink: (line: string) => void;
  let restoreVerbosity = 0;
  before(() => {
    restoreVerbosity = log.getVerbosity();
    log.setVerbosity(level);
    restoreSink = log.setSink((line) => captured.lines.push(line));
  });
  after(() => {
    log.setSink(restoreSink);
    log.setVerbosity(restoreVerbosity);
  });
  beforeEach(() => {
    captured.lines = [];
  });
  return captured;
}
