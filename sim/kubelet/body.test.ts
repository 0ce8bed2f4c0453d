// The reused body buffer and gzip engine that keep 5,000 kubelets cheap to serve.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { ByteWriter, GzipEncoder } from "./body.ts";

describe("ByteWriter", () => {
  test("grows, copies ranges and ASCII, and resets", () => {
    const w = new ByteWriter(16);
    const src = Buffer.from("0123456789".repeat(100));
    w.ascii("head:");
    w.range(src, 3, 7);
    w.range(src, 0, 900);
    w.bytes(Buffer.from("é"));
    assert.equal(w.toString(), `head:3456${src.toString().slice(0, 900)}é`);
    const copy = w.copy();
    w.reset();
    w.ascii("x");
    assert.equal(w.toString(), "x");
    assert.equal(copy.length, 5 + 4 + 900 + 2);
  });
});

describe("GzipEncoder", () => {
  test("one reused engine gives zlib's own gzip bytes, body after body", () => {
    const enc = new GzipEncoder();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200_000 }), fc.boolean(), (data, repetitive) => {
        const input = repetitive
          ? Buffer.from('metric{a="b"} 1 2\n'.repeat(data.length % 9000))
          : Buffer.from(data);
        const z = enc.encode(input);
        assert.deepEqual(gunzipSync(z), input);
        assert.deepEqual(z, gzipSync(input, { level: 1 }));
      }),
      { numRuns: 40 },
    );
    enc.close();
    // Usable again after close (a new engine).
    assert.equal(gunzipSync(enc.encode(Buffer.from("again"))).toString(), "again");
    enc.close();
  });

  test("really compresses (the reader pays a realistic inflate)", () => {
    const body = Buffer.from(
      'container_cpu_usage_seconds_total{container="c",pod="p"} 12.5 1700000000000\n'.repeat(500),
    );
    const z = new GzipEncoder().encode(body);
    assert.ok(z.length < body.length / 10, `${z.length} of ${body.length}`);
  });
});
