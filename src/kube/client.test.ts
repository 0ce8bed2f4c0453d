import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TLSSocket } from "node:tls";
import { type KeyPairPem, selfSigned } from "../../test/support/kube-credentials.ts";
import { ApiError, apiErrorFromStatus, DEFAULT_USER_AGENT, KubeClient, type WatchEvent } from "./client.ts";

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(String((server.address() as AddressInfo).port)));
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("KubeClient over https", () => {
  let serverPair: KeyPairPem;
  let clientPair: KeyPairPem;
  let otherCa: KeyPairPem;
  let port = "";
  const seen: { auth?: string; ua?: string; accept?: string; url?: string; clientCN?: string | string[] }[] =
    [];
  let server: Server;

  before(async () => {
    serverPair = await selfSigned("apiserver", { dns: ["apiserver.test"] });
    clientPair = await selfSigned("admin", {});
    otherCa = await selfSigned("other", { dns: ["apiserver.test"] });
    server = createHttpsServer(
      {
        cert: serverPair.cert,
        key: serverPair.key,
        ca: clientPair.cert,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        seen.push({
          auth: req.headers.authorization,
          ua: req.headers["user-agent"],
          accept: req.headers.accept,
          url: req.url,
          clientCN: peer?.subject?.CN,
        });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ kind: "NodeList", items: [{ metadata: { name: "n1" } }] }));
      },
    );
    port = await listen(server);
  });
  after(() => closeServer(server));

  test("client certificate, CA, tls-server-name, token, user agent, query", async (t) => {
    const client = new KubeClient({
      server: `https://127.0.0.1:${port}`,
      ca: Buffer.from(serverPair.cert),
      cert: Buffer.from(clientPair.cert),
      key: Buffer.from(clientPair.key),
      bearerToken: "tok",
      insecureSkipTLSVerify: false,
      tlsServerName: "apiserver.test",
    });
    t.after(() => client.close());
    const body = await client.getJSON<{ items: { metadata: { name: string } }[] }>("/api/v1/nodes", {
      query: { labelSelector: "a in (b,c)", limit: undefined },
    });
    assert.equal(body.items[0].metadata.name, "n1");
    const last = seen.at(-1);
    assert.equal(last?.auth, "Bearer tok");
    assert.match(last?.ua ?? "", /^metrics-server\/\S+$/);
    assert.equal(last?.ua, DEFAULT_USER_AGENT);
    assert.equal(last?.accept, "application/json");
    assert.equal(last?.url, "/api/v1/nodes?labelSelector=a+in+%28b%2Cc%29");
    assert.equal(last?.clientCN, "admin");
  });

  test("rejects a server whose name does not match without tls-server-name", async (t) => {
    const client = new KubeClient({
      server: `https://127.0.0.1:${port}`,
      ca: Buffer.from(serverPair.cert),
      cert: Buffer.from(clientPair.cert),
      key: Buffer.from(clientPair.key),
      insecureSkipTLSVerify: false,
    });
    t.after(() => client.close());
    await assert.rejects(client.getJSON("/api"), /IP: 127\.0\.0\.1 is not in the cert's list|altnames/i);
  });

  test("rejects an untrusted CA unless insecure-skip-tls-verify", async (t) => {
    const base = {
      server: `https://127.0.0.1:${port}`,
      cert: Buffer.from(clientPair.cert),
      key: Buffer.from(clientPair.key),
      tlsServerName: "apiserver.test",
    };
    const strict = new KubeClient({ ...base, ca: Buffer.from(otherCa.cert), insecureSkipTLSVerify: false });
    const insecure = new KubeClient({ ...base, insecureSkipTLSVerify: true });
    t.after(() => Promise.all([strict.close(), insecure.close()]));
    await assert.rejects(strict.getJSON("/api"), /certificate/i);
    const body = await insecure.getJSON<{ kind: string }>("/api");
    assert.equal(body.kind, "NodeList");
  });
});

describe("KubeClient over http", () => {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end("{}");
  const server = createServer((req, res) => handler(req, res));
  let base = "";
  let client: KubeClient;
  const dir = mkdtempSync(join(tmpdir(), "kube-client-test-"));

  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
    client = new KubeClient({ server: base, insecureSkipTLSVerify: false });
  });
  after(async () => {
    await client.close();
    await closeServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test("non-2xx with a Status body becomes ApiError with status, reason and message", async () => {
    handler = (_req, res) => {
      res.statusCode = 403;
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: 'nodes is forbidden: User "x" cannot list resource "nodes"',
          reason: "Forbidden",
          code: 403,
        }),
      );
    };
    const err = await client.getJSON("/api/v1/nodes").then(
      () => assert.fail("expected an error"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 403);
    assert.equal(err.reason, "Forbidden");
    assert.match(err.message, /GET \/api\/v1\/nodes: server returned 403: nodes is forbidden/);
  });

  test("non-2xx with a text body", async () => {
    handler = (_req, res) => {
      res.statusCode = 502;
      res.end("bad gateway\n");
    };
    await assert.rejects(
      client.getJSON("/x"),
      (e: unknown) => e instanceof ApiError && e.status === 502 && /bad gateway/.test(e.message),
    );
  });

  test("invalid JSON in a 200 response", async () => {
    handler = (_req, res) => res.end("{not json");
    await assert.rejects(client.getJSON("/x"), /GET \/x: response is not valid JSON/);
  });

  test("watch parses events split across chunks (including inside a UTF-8 character)", async () => {
    const events = [
      { type: "ADDED", object: { metadata: { name: "a", labels: { note: "héllo" } } } },
      { type: "MODIFIED", object: { metadata: { name: "a", resourceVersion: "2" } } },
      { type: "BOOKMARK", object: { metadata: { resourceVersion: "3" } } },
      {
        type: "ERROR",
        object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
      },
    ];
    let query = "";
    let accept = "";
    handler = (req, res) => {
      query = req.url ?? "";
      accept = req.headers.accept ?? "";
      res.writeHead(200, { "content-type": "application/json" });
      const bytes = Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(""));
      // Write 7 bytes at a time so that lines and multi-byte characters are split.
      let i = 0;
      const pump = (): void => {
        if (i >= bytes.length) {
          res.end();
          return;
        }
        res.write(bytes.subarray(i, i + 7), () => setImmediate(pump));
        i += 7;
      };
      pump();
    };
    const got: WatchEvent[] = [];
    for await (const ev of client.watch(
      "/api/v1/pods",
      { watch: "true", resourceVersion: "1" },
      "application/json",
    )) {
      got.push(ev);
    }
    assert.deepEqual(got, events);
    assert.equal(query, "/api/v1/pods?watch=true&resourceVersion=1");
    assert.equal(accept, "application/json");
    const err = apiErrorFromStatus(got[3].object, "watch");
    assert.equal(err.status, 410);
    assert.equal(err.reason, "Expired");
  });

  test("watch: a final line without newline is still delivered; garbage is an error", async () => {
    handler = (_req, res) => res.end('{"type":"DELETED","object":{"metadata":{"name":"z"}}}');
    const got: WatchEvent[] = [];
    for await (const ev of client.watch("/w", {}, "application/json")) got.push(ev);
    assert.deepEqual(got, [{ type: "DELETED", object: { metadata: { name: "z" } } }]);

    handler = (_req, res) => res.end("not json\n");
    await assert.rejects(async () => {
      for await (const _ of client.watch("/w", {}, "application/json"));
    }, /watch \/w: malformed event/);

    handler = (_req, res) => res.end('{"type":"WHAT","object":{}}\n');
    await assert.rejects(async () => {
      for await (const _ of client.watch("/w", {}, "application/json"));
    }, /unable to understand watch event/);
  });

  test("watch: non-2xx at start throws ApiError", async () => {
    handler = (_req, res) => {
      res.statusCode = 410;
      res.end(JSON.stringify({ kind: "Status", code: 410, reason: "Expired", message: "too old" }));
    };
    await assert.rejects(
      async () => {
        for await (const _ of client.watch("/w", {}, "application/json"));
      },
      (e: unknown) => e instanceof ApiError && e.status === 410 && e.reason === "Expired",
    );
  });

  test("watch: breaking out of the loop closes the request", async () => {
    let closed: () => void = () => {};
    const requestClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    handler = (req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
      req.on("close", closed);
    };
    for await (const ev of client.watch("/w", {}, "application/json")) {
      assert.equal(ev.type, "ADDED");
      break;
    }
    await requestClosed;
  });

  test("watch: aborting the signal ends the iteration with an error", async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
    };
    const ac = new AbortController();
    await assert.rejects(async () => {
      for await (const _ of client.watch("/w", {}, "application/json", ac.signal)) ac.abort();
    });
  });

  test("bearer token file is re-read after a minute", async (t) => {
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, "first\n");
    t.mock.timers.enable({ apis: ["Date"], now: Date.now() });
    const c = new KubeClient({
      server: base,
      bearerToken: "first",
      bearerTokenFile: tokenFile,
      insecureSkipTLSVerify: false,
    });
    t.after(() => c.close());
    const auths: (string | undefined)[] = [];
    handler = (req, res) => {
      auths.push(req.headers.authorization);
      res.end("{}");
    };
    await c.getJSON("/x");
    writeFileSync(tokenFile, "second\n");
    await c.getJSON("/x"); // within the minute: still the cached token
    t.mock.timers.tick(61_000);
    await c.getJSON("/x");
    rmSync(tokenFile);
    t.mock.timers.tick(61_000);
    await c.getJSON("/x"); // unreadable file: keep the last good token
    assert.deepEqual(auths, ["Bearer first", "Bearer first", "Bearer second", "Bearer second"]);
  });

  test("rejects bad server URLs", () => {
    assert.throws(
      () => new KubeClient({ server: "not a url", insecureSkipTLSVerify: false }),
      /invalid API server URL/,
    );
    assert.throws(
      () => new KubeClient({ server: "ftp://x", insecureSkipTLSVerify: false }),
      /unsupported API server URL scheme/,
    );
  });
});
