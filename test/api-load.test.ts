// API load, end to end (a short run of bench/api-load.ts): 500 clients, half on HTTP/2 (h2load), half
// on HTTP/1.1 (wrk), mixing list-all, namespace + label-selector lists and gets while the server
// scrapes, with a slowloris client and an HTTP/2 rapid-reset client attacking the same listener.
// No request may fail; a GOAWAY to the rapid-reset client says ENHANCE_YOUR_CALM; the server stays
// ready. Latencies are printed, never asserted. Needs the Debian packages nghttp2-client and
// wrk: skipped without them, failed under CI=true.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_API_LOAD, missingLoadTools, renderApiLoad, runApiLoad } from "../bench/api-load.ts";

test("500 clients over HTTP/2 and HTTP/1.1 under slowloris and rapid reset: no errors", async (t) => {
  const missing = await missingLoadTools();
  if (missing.length > 0) {
    const why = `missing Debian package(s): ${missing.join(", ")} (apt-get install -y nghttp2-client wrk)`;
    if (process.env.CI === "true") throw new Error(why);
    t.skip(why);
    return;
  }
  // 20 s instead of the benchmark's 60: npm test must stay short on CI.
  const r = await runApiLoad({ ...DEFAULT_API_LOAD, seconds: 20 });
  for (const line of renderApiLoad(r).split("\n")) t.diagnostic(line);
  for (const tool of r.tools) {
    assert.ok(tool.requests > 0, `${tool.tool}: no request completed`);
    assert.equal(tool.errors, 0, `${tool.tool}: ${tool.errorDetail}`);
  }
  // Whether the flood is stopped by a GOAWAY depends on how fast the server reads it (a fast server
  // absorbs it stream by stream); src/apiserver/rapid-reset.test.ts checks the GOAWAY itself. Here:
  // when one comes for the flood, it says ENHANCE_YOUR_CALM (Node alone says INTERNAL_ERROR). A
  // connection whose streams nghttp2 dropped before Node saw any is closed by the read timeout with
  // NO_ERROR, as Go's server closes a connection that timed out.
  const codes = r.rapidReset?.goawayCodes ?? {};
  for (const code of Object.keys(codes))
    assert.ok(code === "11" || code === "0", `rapid reset: GOAWAY codes ${JSON.stringify(codes)}`);
  assert.ok(r.readyAfter, "the server is not ready after the load");
});
