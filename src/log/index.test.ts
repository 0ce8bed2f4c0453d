import assert from "node:assert/strict";
import { test } from "node:test";
import { goQuote } from "../go/index.ts";
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
