// HTTP/2 rapid reset (CVE-2023-44487) against the real listener: a raw client opens and resets
// streams as fast as the socket takes them. It must be sent away with GOAWAY ENHANCE_YOUR_CALM, as
// Go's server does (Node alone would say INTERNAL_ERROR), while a well-behaved client on its own
// connection keeps being served. (This in-process server answers at once, so the flood is caught by
// our count of early resets; the real server, busier, usually hits Node's rejected-stream limit
// first, whose GOAWAY test/api-load.test.ts checks.)
import assert from "node:assert/strict";
import http2 from "node:http2";
import { test } from "node:test";
import { rapidReset } from "../../test/support/abusive-clients.ts";
import { poll } from "../../test/support/poll.ts";
import { startLoopbackServer } from "../../test/support/serve.ts";

test("a rapid-reset client gets GOAWAY ENHANCE_YOUR_CALM; others are served", async (t) => {
  const { server, port } = await startLoopbackServer({
    api: { handle: () => ({ status: 200, contentType: "application/json", body: "{}" }) },
  });
  t.after(() => server.close());

  const attacker = rapidReset("127.0.0.1", port);
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  t.after(() => session.destroy());
  session.on("error", () => {});
  const get = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = session.request({ ":path": "/apis/x" });
      s.on("response", (h) => resolve(Number(h[":status"])));
      s.on("error", reject);
      s.resume();
    });
  // Until the attacker has been sent away twice, the other client's requests keep succeeding.
  await poll(
    "two GOAWAYs to the attacker",
    async () => {
      assert.equal(await get(), 200);
      const codes = attacker.stats().goawayCodes;
      return (codes["11"] ?? 0) >= 2 ? true : undefined;
    },
    60_000,
    50,
  );
  const stats = await attacker.stop();
  assert.deepEqual(Object.keys(stats.goawayCodes), ["11"], JSON.stringify(stats));
  assert.equal(await get(), 200);
});
