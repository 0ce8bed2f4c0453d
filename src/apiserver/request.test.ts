import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { plainHeaders } from "./request.ts";

describe("plainHeaders", () => {
  it("keeps a header sent on several lines as several values (one X-Remote-Group per group)", () => {
    const headers = plainHeaders({
      rawHeaders: [
        ":path",
        "/x",
        "X-Remote-User",
        "admin",
        "X-Remote-Group",
        "system:masters",
        "x-remote-group",
        "a, b",
      ],
    });
    assert.deepEqual(headers, { "x-remote-user": "admin", "x-remote-group": ["system:masters", "a, b"] });
  });
});
