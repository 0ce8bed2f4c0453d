import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { before, describe, it } from "node:test";
import type { TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import { selfSignedCert, startFakeKubelet, type TestCert } from "../../../test/support/fake-kubelet.ts";
import { dialKubelet, KubeletClient, KubeletHttpError } from "./client.ts";

const timeout = (): AbortSignal => AbortSignal.timeout(20_000);

describe("KubeletClient", () => {
  let cert: TestCert;
  let otherCert: TestCert;
  before(async () => {
    cert = await selfSignedCert(["127.0.0.1"]);
    otherCert = await selfSignedCert(["127.0.0.1"], "someone-else");
  });

  function client(
    t: { after(fn: () => Promise<void>): void },
    opts: ConstructorParameters<typeof KubeletClient>[0] = {},
  ) {
    const c = new KubeletClient({ ca: Buffer.from(cert.certPem), ...opts });
    t.after(() => c.close());
    return c;
  }

  it("GETs over verified TLS (IP SAN), sends credentials, and reuses the connection", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => res.end("payload"));
    t.after(() => kubelet.close());
    const c = client(t, { bearerToken: () => "tok-123", userAgent: "metrics-server/test" });
    const url = `https://127.0.0.1:${kubelet.port}/metrics/resource`;
    assert.equal(Buffer.from(await c.get(url, timeout())).toString(), "payload");
    assert.equal(Buffer.from(await c.get(url, timeout())).toString(), "payload");
    assert.equal(kubelet.requests.length, 2);
    assert.equal(kubelet.requests[0].path, "/metrics/resource");
    assert.equal(kubelet.requests[0].headers.authorization, "Bearer tok-123");
    assert.equal(kubelet.requests[0].headers["user-agent"], "metrics-server/test");
    assert.equal(kubelet.requests[0].headers["accept-encoding"], "gzip");
    assert.equal(kubelet.requests[0].headers.accept, undefined);
    assert.equal(kubelet.requests[1].remotePort, kubelet.requests[0].remotePort, "same socket reused");
  });

  it("offers ALPN http/1.1 from a buffer of its own, not a slice of the shared Buffer pool", async (t) => {
    // node:tls keeps each socket's options for the socket's life: a pooled ALPN buffer would pin a
    // 64 KiB pool per kubelet connection (295 MiB at 5,000 nodes before this was fixed).
    const kubelet = await startFakeKubelet(cert, (_req, res) => res.end("x"));
    t.after(() => kubelet.close());
    const { createSecureContext } = await import("node:tls");
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = dialKubelet(
        {
          protocol: "https:",
          hostname: "127.0.0.1",
          host: "127.0.0.1",
          port: String(kubelet.port),
        },
        createSecureContext({ ca: cert.certPem }),
        (err) => (err ? reject(err) : resolve(s as TLSSocket)),
      ) as TLSSocket;
    });
    // Closed before the kubelet is: its close() waits for every connection to end.
    try {
      assert.equal(socket.alpnProtocol, "http/1.1");
      const kept = (socket as unknown as { _tlsOptions: { ALPNProtocols: Buffer } })._tlsOptions
        .ALPNProtocols;
      assert.deepEqual([...kept], [8, ...Buffer.from("http/1.1")]);
      assert.ok(kept.buffer.byteLength <= 64, `the ALPN buffer holds ${kept.buffer.byteLength} bytes`);
    } finally {
      socket.destroy();
    }
  });

  it("omits the Authorization header when the token source returns nothing", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => res.end("x"));
    t.after(() => kubelet.close());
    await client(t, { bearerToken: () => undefined }).get(`https://127.0.0.1:${kubelet.port}/m`, timeout());
    assert.equal(kubelet.requests[0].headers.authorization, undefined);
  });

  it("awaits an async token source on every request (a rotated token is used)", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => res.end("x"));
    t.after(() => kubelet.close());
    let n = 0;
    const c = client(t, { bearerToken: async () => `exec-token-${++n}` });
    const url = `https://127.0.0.1:${kubelet.port}/m`;
    await c.get(url, timeout());
    await c.get(url, timeout());
    assert.deepEqual(
      kubelet.requests.map((r) => r.headers.authorization),
      ["Bearer exec-token-1", "Bearer exec-token-2"],
    );
  });

  it("fails the request, naming the URL, when the token source fails", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => res.end("x"));
    t.after(() => kubelet.close());
    const url = `https://127.0.0.1:${kubelet.port}/m`;
    const c = client(t, {
      bearerToken: () => Promise.reject(new Error("exec: executable aws not found")),
    });
    await assert.rejects(c.get(url, timeout()), {
      message: `Get "${url}": getting credentials: exec: executable aws not found`,
    });
    assert.equal(kubelet.requests.length, 0, "nothing is sent without credentials");
  });

  it("presents the client certificate for mTLS", async (t) => {
    const clientCert = await selfSignedCert([], "system:metrics-server");
    const peers: { cn: unknown; authorized: boolean }[] = [];
    const kubelet = await startFakeKubelet(
      cert,
      (req, res) => {
        const socket = req.socket as TLSSocket;
        peers.push({ cn: socket.getPeerCertificate().subject?.CN, authorized: socket.authorized });
        res.end("x");
      },
      "127.0.0.1",
      clientCert.certPem,
    );
    t.after(() => kubelet.close());
    const c = client(t, { cert: Buffer.from(clientCert.certPem), key: Buffer.from(clientCert.keyPem) });
    await c.get(`https://127.0.0.1:${kubelet.port}/m`, timeout());
    assert.deepEqual(peers, [{ cn: "system:metrics-server", authorized: true }]);
    // Without one the kubelet sees an anonymous TLS client.
    await client(t).get(`https://127.0.0.1:${kubelet.port}/m`, timeout());
    assert.equal(peers[1].authorized, false);
  });

  it("reaches a kubelet at an IPv6 literal ([::1]) and verifies its IP SAN", async (t) => {
    const v6 = await selfSignedCert(["::1"]);
    const kubelet = await startFakeKubelet(v6, (_req, res) => res.end("six"), "::1");
    t.after(() => kubelet.close());
    const c = client(t, { ca: Buffer.from(v6.certPem) });
    const body = await c.get(`https://[::1]:${kubelet.port}/metrics/resource`, timeout());
    assert.equal(Buffer.from(body).toString(), "six");
    // The same server is not trusted under a CA that did not sign it.
    await assert.rejects(
      client(t).get(`https://[::1]:${kubelet.port}/m`, timeout()),
      /self-signed certificate/,
    );
  });

  it("decompresses a gzip response", async (t) => {
    const text = "node_cpu_usage_seconds_total 1 1\n".repeat(1000);
    const kubelet = await startFakeKubelet(cert, (_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain; version=0.0.4" });
      res.end(gzipSync(text));
    });
    t.after(() => kubelet.close());
    const body = await client(t).get(`https://127.0.0.1:${kubelet.port}/metrics/resource`, timeout());
    assert.equal(Buffer.from(body).toString(), text);
  });

  it("inflates whole bodies whose gzip trailer size is wrong or partial (the output buffer's hint)", async (t) => {
    const text = "container_cpu_usage_seconds_total 1 1\n".repeat(3000);
    const lying = gzipSync(text);
    lying.writeUInt32LE(10, lying.length - 4); // ISIZE claims 10 bytes (the CRC still checks the data)
    const huge = gzipSync(text);
    huge.writeUInt32LE(0xffffffff, huge.length - 4);
    // Two gzip members: the trailer read is the second's alone.
    const twoMembers = Buffer.concat([gzipSync(text), gzipSync("tail 1 1\n")]);
    const answers = [lying, huge, twoMembers];
    const kubelet = await startFakeKubelet(cert, (_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip" });
      res.end(answers.shift());
    });
    t.after(() => kubelet.close());
    const c = client(t);
    const url = `https://127.0.0.1:${kubelet.port}/metrics/resource`;
    // zlib checks ISIZE against the data: a wrong one is a corrupt body, found after a whole inflate.
    await assert.rejects(c.get(url, timeout()), /decompressing the gzip body/);
    await assert.rejects(c.get(url, timeout()), /decompressing the gzip body/);
    assert.equal(Buffer.from(await c.get(url, timeout())).toString(), `${text}tail 1 1\n`);
  });

  it("names a corrupt or truncated gzip body, and still reads the next response on that connection", async (t) => {
    const good = gzipSync("node_cpu_usage_seconds_total 1 1\n".repeat(50));
    const answers = [Buffer.from("not gzip at all"), good.subarray(0, good.length - 8), good];
    const kubelet = await startFakeKubelet(cert, (_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip" });
      res.end(answers.shift());
    });
    t.after(() => kubelet.close());
    const c = client(t);
    const url = `https://127.0.0.1:${kubelet.port}/metrics/resource`;
    await assert.rejects(c.get(url, timeout()), {
      message: `Get "${url}": decompressing the gzip body: incorrect header check`,
    });
    await assert.rejects(c.get(url, timeout()), {
      message: `Get "${url}": decompressing the gzip body: unexpected end of file`,
    });
    assert.equal(Buffer.from(await c.get(url, timeout())).length, 50 * 33);
    assert.equal(new Set(kubelet.requests.map((r) => r.remotePort)).size, 1);
  });

  it("reports a non-200 status like Go", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => {
      res.writeHead(500);
      res.end("boom");
    });
    t.after(() => kubelet.close());
    await assert.rejects(client(t).get(`https://127.0.0.1:${kubelet.port}/metrics/resource`, timeout()), {
      message: 'request failed, status: "500 Internal Server Error"',
    });
  });

  it("exposes the HTTP status of a failed request", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => {
      res.writeHead(404);
      res.end("404 page not found");
    });
    t.after(() => kubelet.close());
    await assert.rejects(
      client(t).get(`https://127.0.0.1:${kubelet.port}/metrics/resource`, timeout()),
      (err) => {
        assert.ok(err instanceof KubeletHttpError);
        assert.equal(err.status, 404);
        assert.equal(err.message, 'request failed, status: "404 Not Found"');
        return true;
      },
    );
  });

  it("stops a kubelet streaming 100 MiB at the cap: bounded reading, an error naming the cap", async (t) => {
    const chunk = Buffer.alloc(256 * 1024, "x");
    const total = 100 * 1024 * 1024;
    let sent = 0;
    let closed!: () => void;
    const streamClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const kubelet = await startFakeKubelet(cert, (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.on("error", () => {});
      res.on("close", closed);
      const push = (): void => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", push);
        }
        res.end();
      };
      push();
    });
    t.after(() => kubelet.close());
    const c = client(t, { maxBodyBytes: 4 * 1024 * 1024 });
    await assert.rejects(c.get(`https://127.0.0.1:${kubelet.port}/metrics/resource`, timeout()), {
      message: "response from kubelet exceeds 4 MiB limit",
    });
    await streamClosed;
    // The client hung up: the kubelet could not push much more than the cap plus socket buffers.
    assert.ok(sent < 32 * 1024 * 1024, `kubelet sent ${sent} bytes`);
  });

  it("stops reading a body over the limit (plain, declared length, and gzip bomb)", async (t) => {
    const big = Buffer.alloc(3 * 1024 * 1024, "a");
    const kubelet = await startFakeKubelet(cert, (req, res) => {
      if (req.url === "/chunked") {
        res.writeHead(200, { "transfer-encoding": "chunked" });
        let sent = 0;
        const push = (): void => {
          while (sent < big.length) {
            const more = res.write(big.subarray(sent, sent + 65536));
            sent += 65536;
            if (!more) return void res.once("drain", push);
          }
          res.end();
        };
        res.on("error", () => {});
        push();
      } else if (req.url === "/declared") {
        res.writeHead(200, { "content-length": big.length });
        res.end(big);
      } else {
        res.writeHead(200, { "content-encoding": "gzip" });
        res.end(gzipSync(big));
      }
    });
    t.after(() => kubelet.close());
    const c = client(t, { maxBodyBytes: 1024 * 1024 });
    for (const path of ["/chunked", "/declared", "/gzip"]) {
      await assert.rejects(c.get(`https://127.0.0.1:${kubelet.port}${path}`, timeout()), {
        message: "response from kubelet exceeds 1 MiB limit",
      });
    }
  });

  it("names the default limit 64 MiB", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => {
      res.writeHead(200, { "content-length": 64 * 1024 * 1024 + 1 });
      res.write("x");
    });
    t.after(() => kubelet.close());
    await assert.rejects(client(t).get(`https://127.0.0.1:${kubelet.port}/m`, timeout()), {
      message: "response from kubelet exceeds 64 MiB limit",
    });
  });

  it("fails TLS verification against the wrong CA, naming the URL", async (t) => {
    const kubelet = await startFakeKubelet(otherCert, (_req, res) => res.end("x"));
    t.after(() => kubelet.close());
    const url = `https://127.0.0.1:${kubelet.port}/metrics/resource`;
    await assert.rejects(client(t).get(url, timeout()), (err: Error) => {
      assert.match(
        err.message,
        /^Get "https:\/\/127\.0\.0\.1:\d+\/metrics\/resource": x509: certificate signed by unknown authority: .* \(issuer "CN=someone-else"\) is not signed by the kubelet CA \(self-signed certificate\); /,
      );
      return true;
    });
  });

  it("verifies the IP it dialled against the certificate's IP SANs", async (t) => {
    const kubelet = await startFakeKubelet(cert, (_req, res) => res.end("x"), "127.0.0.2");
    t.after(() => kubelet.close());
    const url = `https://127.0.0.2:${kubelet.port}/metrics/resource`;
    await assert.rejects(
      client(t).get(url, timeout()),
      /^Error: Get ".*": x509: certificate is valid for IP:127\.0\.0\.1, not 127\.0\.0\.2: /,
    );
  });

  it("skips verification with insecureSkipVerify", async (t) => {
    const kubelet = await startFakeKubelet(otherCert, (_req, res) => res.end("ok"));
    t.after(() => kubelet.close());
    const c = client(t, { insecureSkipVerify: true });
    assert.equal(Buffer.from(await c.get(`https://127.0.0.1:${kubelet.port}/m`, timeout())).toString(), "ok");
  });

  it("aborts a hanging request when the signal fires", async (t) => {
    const kubelet = await startFakeKubelet(cert, () => {});
    t.after(() => kubelet.close());
    const controller = new AbortController();
    const pending = client(t).get(`https://127.0.0.1:${kubelet.port}/m`, controller.signal);
    controller.abort(new Error("context deadline exceeded"));
    await assert.rejects(pending, /^Error: Get "https:\/\/127\.0\.0\.1:\d+\/m": context deadline exceeded$/);
  });

  it("talks plain HTTP without credentials when completely insecure", async (t) => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end("plain");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.unref();
    const c = client(t, { completelyInsecure: true, bearerToken: () => "secret" });
    const { port } = server.address() as AddressInfo;
    assert.equal(Buffer.from(await c.get(`http://127.0.0.1:${port}/m`, timeout())).toString(), "plain");
    assert.deepEqual(seen, [undefined]);
  });

  it("reports a refused connection with the URL", async (t) => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const url = `https://127.0.0.1:${port}/metrics/resource`;
    await assert.rejects(client(t).get(url, timeout()), {
      message: `Get "${url}": connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });

  it("retries once when the connection is dropped before a response", async (t) => {
    let calls = 0;
    const kubelet = await startFakeKubelet(cert, (req, res) => {
      calls++;
      if (calls === 1) req.socket.destroy();
      else res.end("second");
    });
    t.after(() => kubelet.close());
    const body = await client(t).get(`https://127.0.0.1:${kubelet.port}/m`, timeout());
    assert.equal(Buffer.from(body).toString(), "second");
    assert.equal(calls, 2);
  });

  it("gives up after the one retry", async (t) => {
    const kubelet = await startFakeKubelet(cert, (req) => req.socket.destroy());
    t.after(() => kubelet.close());
    const url = `https://127.0.0.1:${kubelet.port}/m`;
    await assert.rejects(client(t).get(url, timeout()), (err: Error) =>
      err.message.startsWith(`Get "${url}": `),
    );
    assert.equal(kubelet.requests.length, 2);
  });

  it("rejects a certificate without a key and a bad limit", () => {
    assert.throws(() => new KubeletClient({ cert: Buffer.from(cert.certPem) }), /must be given together/);
    assert.throws(() => new KubeletClient({ maxBodyBytes: 0 }), /maxBodyBytes must be a positive number/);
  });
});
