// The stalled-streams attack, end to end: an unprivileged user (the front proxy's "viewer") opens
// HTTP/2 streams for a large pod list and never reads them. With --max-requests-inflight=5 the
// first five hold their slots and every further request gets 429 with Retry-After, while
// system:masters is still served; the server's memory stays bounded; and --request-timeout resets
// the stalled streams, after which the viewer is served again.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { join } from "node:path";
import { test } from "node:test";
import { startCluster } from "./support/cluster.ts";
import { poll } from "./support/poll.ts";

const LIMIT = 5;
const STALLED = 200;
const PODS = "/apis/metrics.k8s.io/v1beta1/pods";

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, "VmRSS in /proc/<pid>/status");
  return Number(m[1]) * 1024;
}

interface Opened {
  stream: http2.ClientHttp2Stream;
  status: Promise<{ status: number; retryAfter: unknown }>;
  closed: Promise<number>;
}

test("stalled streams beyond --max-requests-inflight get 429; --request-timeout frees the slots", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "20", "--pods-per-node", "30", "--seed", "17"],
    serverArgs: [`--max-requests-inflight=${LIMIT}`, "--request-timeout=20s"],
  });
  const pki = (f: string) => readFileSync(join(c.dir, "pki", f));
  const frontProxy = { cert: pki("front-proxy-client.crt"), key: pki("front-proxy-client.key") };
  // A stream window of 0: the server may send headers but no body byte until the client says so,
  // which it never does (a client that does not read, whatever the list's size).
  const session = http2.connect(`https://${c.serverAddress}`, {
    ...frontProxy,
    rejectUnauthorized: false,
    settings: { initialWindowSize: 0 },
  });
  session.on("error", () => {});
  t.after(() => session.destroy());

  const open = (user: string, group = "system:authenticated"): Opened => {
    const stream = session.request({ ":path": PODS, "x-remote-user": user, "x-remote-group": group });
    stream.on("error", () => {});
    const status = new Promise<{ status: number; retryAfter: unknown }>((resolve) =>
      stream.once("response", (h) => resolve({ status: Number(h[":status"]), retryAfter: h["retry-after"] })),
    );
    const closed = new Promise<number>((resolve) =>
      stream.once("close", () => resolve(stream.rstCode ?? -1)),
    );
    return { stream, status, closed };
  };
  const getStatus = async (user: string, group?: string): Promise<number> => {
    const o = open(user, group);
    const { status } = await o.status;
    o.stream.close(http2.constants.NGHTTP2_CANCEL);
    return status;
  };

  // The list is served to the viewer (the scrape has stored pods) before the attack starts.
  await poll("the viewer's pod list", async () => ((await getStatus("viewer")) === 200 ? true : undefined));
  const rssBefore = rssBytes(c.server.child.pid ?? 0);

  const stalled: Opened[] = [];
  for (let i = 0; i < LIMIT; i++) {
    const o = open("viewer");
    stalled.push(o);
    assert.equal((await o.status).status, 200, "within the limit");
  }
  const refused: Opened[] = [];
  for (let i = 0; i < STALLED; i++) refused.push(open("viewer"));
  for (const o of refused) {
    const r = await o.status;
    assert.equal(r.status, 429);
    assert.equal(r.retryAfter, "1");
  }
  // system:masters is never refused (upstream's "super-admin or a loopback connection").
  assert.equal(await getStatus("kubernetes-admin", "system:masters"), 200);
  const rssAfter = rssBytes(c.server.child.pid ?? 0);
  t.diagnostic(`server RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssAfter / 2 ** 20).toFixed(1)} MiB`);
  // Five stalled lists and two hundred refusals cost little; unbounded, each stalled stream held a
  // whole list (the attack this guards against grew the server by tens of MB).
  assert.ok(
    rssAfter - rssBefore < 64 << 20,
    `RSS grew by ${((rssAfter - rssBefore) / 2 ** 20).toFixed(1)} MiB under ${STALLED + LIMIT} stalled streams`,
  );

  // --request-timeout: the stalled bodies had started, so their streams are reset (as Go's
  // ErrAbortHandler does), and their slots are free again.
  for (const o of stalled) assert.equal(await o.closed, http2.constants.NGHTTP2_INTERNAL_ERROR);
  await poll(
    "the viewer served again",
    async () => ((await getStatus("viewer")) === 200 ? true : undefined),
    60_000,
    200,
  );
});
