import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatTimestamp } from "./timestamp.ts";

describe("formatTimestamp", () => {
  it("writes RFC 3339 UTC truncated to seconds", () => {
    assert.equal(formatTimestamp(Date.UTC(2025, 4, 1, 10, 0, 1, 999.9)), "2025-05-01T10:00:01Z");
    assert.equal(formatTimestamp(Date.UTC(2025, 4, 1, 10, 0, 2)), "2025-05-01T10:00:02Z");
    assert.equal(formatTimestamp(Date.UTC(1999, 11, 31, 23, 59, 59, 1)), "1999-12-31T23:59:59Z");
  });
  it("gives null for the zero time and for unrepresentable times", () => {
    assert.equal(formatTimestamp(0), null);
    assert.equal(formatTimestamp(Number.NaN), null);
    assert.equal(formatTimestamp(1e17), null);
  });
  it("truncates toward the earlier second for times before 1970", () => {
    assert.equal(formatTimestamp(-500), "1969-12-31T23:59:59Z");
  });
});
