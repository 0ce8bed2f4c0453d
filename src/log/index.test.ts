import assert from "node:assert/strict";
import { test } from "node:test";
import { goQuote } from "../go/index.ts";
import { wallClockMicros } from "./clock.ts";
import * as log from "./index.ts";

function capture(fn: () => void): string[] {
  const lines: string[] = [];
  const prev = log.setSink((l) => lines.push(l));
  try {
    fn();
  } finally {
    log.setSink(prev);
  }
  return lines;
}

test("error lines have klog's header, the quoted message, err first, then key/values", () => {
  const [line] = capture(() =>
    log.error(new Error('Get "https://x": boom'), "Failed to scrape node", { node: "node-1" }),
  );
  assert.match(
    line!,
    /^E\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ index\.test\.ts:\d+\] "Failed to scrape node" err="Get \\"https:\/\/x\\": boom" node="node-1"\n$/,
  );
});

test("V(n) writes only at or below the verbosity", () => {
  const before = log.getVerbosity();
  try {
    log.setVerbosity(1);
    const lines = capture(() => {
      log.V(1).info("shown", { n: 3 });
      log.V(2).info("hidden");
    });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^I.*\] "shown" n=3\n$/);
    assert.equal(log.V(2).enabled, false);
  } finally {
    log.setVerbosity(before);
  }
});

test("goQuote escapes like Go's %q", () => {
  assert.equal(goQuote('a"b\\c\nd\u0001'), '"a\\"b\\\\c\\nd\\x01"');
});

/** The header's time as microseconds since the epoch (local time, the year taken from `nearMs`). */
function headerMicros(line: string, nearMs: number): number {
  const m = /^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) /.exec(line);
  assert.ok(m, `a klog header: ${line}`);
  const [month, day, h, min, sec, micros] = m.slice(1).map(Number) as number[];
  const year = new Date(nearMs).getFullYear();
  return new Date(year, month! - 1, day, h, min, sec).getTime() * 1000 + micros!;
}

test("the header's time has real microseconds, within the wall clock's millisecond, never going back", () => {
  const samples: { before: number; after: number; us: number }[] = [];
  const lines = capture(() => {
    for (let i = 0; i < 200; i++) {
      const before = Date.now();
      log.info("tick");
      samples.push({ before, after: Date.now(), us: 0 });
    }
  });
  for (const [i, line] of lines.entries()) samples[i]!.us = headerMicros(line, samples[i]!.before);
  for (const [i, s] of samples.entries()) {
    assert.ok(
      s.us >= s.before * 1000 && s.us < (s.after + 1) * 1000,
      `line ${i}: ${s.us} µs lies in the wall clock's [${s.before}, ${s.after}] ms`,
    );
    if (i > 0) assert.ok(s.us >= samples[i - 1]!.us, `line ${i} is not earlier than line ${i - 1}`);
  }
  // Whole milliseconds would print ".xxx000" every time; 200 lines of real microseconds almost never do.
  assert.ok(
    samples.some((s) => s.us % 1000 !== 0),
    `some line has sub-millisecond digits: ${lines.slice(0, 3).join("")}`,
  );
});

test("wallClockMicros follows the wall clock to the millisecond", () => {
  for (let i = 0; i < 1000; i++) {
    const before = Date.now();
    const us = wallClockMicros();
    const after = Date.now();
    assert.ok(us >= before * 1000 && us < (after + 1) * 1000, `${us} µs within [${before}, ${after}] ms`);
  }
});
