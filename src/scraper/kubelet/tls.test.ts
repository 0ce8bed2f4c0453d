import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { before, describe, it } from "node:test";
import type { PeerCertificate, TLSSocket } from "node:tls";
import fc from "fast-check";
import { startFakeKubelet, type TestCA, type TestCert, testCA } from "../../../test/support/fake-kubelet.ts";
import { captureLogs } from "../../../test/support/logs.ts";
import type { Node } from "../../kube/index.ts";
import { Scraper } from "../scraper.ts";
import { KubeletClient, type KubeletClientOptions, KubeletHttpError } from "./client.ts";
import { acceptableNodeName, checkIdentity, parseSubjectAltNames } from "./tls.ts";

type Cleanup = { after(fn: () => Promise<void> | void): void };
const timeout = (): AbortSignal => AbortSignal.timeout(20_000);

describe("kubelet serving certificate verification", () => {
  let ca: TestCA;
  let otherCA: TestCA;
  let nameOnly: TestCert; // DNS SAN "node-1" only, as kubeadm issues them
  before(async () => {
    ca = await testCA("kubelet-ca");
    otherCA = await testCA("other-ca");
    nameOnly = await ca.issue({ cn: "system:node:node-1", dns: ["node-1"] });
  });

  function client(t: Cleanup, opts: KubeletClientOptions = {}): KubeletClient {
    const c = new KubeletClient({ ca: Buffer.from(ca.certPem), ...opts });
    t.after(() => c.close());
    return c;
  }

  async function kubelet(
    t: Cleanup,
    cert: TestCert,
    handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end("ok"),
  ) {
    const k = await startFakeKubelet(cert, handler);
    t.after(() => k.close());
    return { ...k, url: `https://127.0.0.1:${k.port}/metrics/resource` };
  }

  it("accepts a DNS-only certificate for the node's name when dialling its IP, sending the name as SNI", async (t) => {
    const sni: unknown[] = [];
    const k = await kubelet(t, nameOnly, (req, res) => {
      sni.push((req.socket as TLSSocket).servername);
      res.end("ok");
    });
    const body = await client(t).get(k.url, timeout(), "node-1");
    assert.equal(Buffer.from(body).toString(), "ok");
    assert.deepEqual(sni, ["node-1"]);
  });

  it("refuses the same certificate for another node, listing its SANs and the address dialled", async (t) => {
    const k = await kubelet(t, nameOnly);
    await assert.rejects(client(t).get(k.url, timeout(), "node-2"), {
      message:
        `Get "${k.url}": x509: certificate is valid for DNS:node-1, not 127.0.0.1: the kubelet serving ` +
        'certificate of node "node-2" names neither the address dialled (127.0.0.1) nor the node name ' +
        "(node-2); reissue it with the node's name as a DNS SAN or its address as an IP SAN, choose " +
        "another address type with --kubelet-preferred-address-types, or --kubelet-insecure-tls to skip " +
        "verification (not recommended)",
    });
    assert.equal(k.requests.length, 0, "nothing is sent to a kubelet whose certificate is refused");
  });

  it("refuses a DNS SAN for another name, and a DNS-only certificate when no node name is given", async (t) => {
    const other = await kubelet(t, await ca.issue({ dns: ["node-9", "node-9.example"] }));
    await assert.rejects(
      client(t).get(other.url, timeout(), "node-1"),
      /x509: certificate is valid for DNS:node-9, DNS:node-9\.example, not 127\.0\.0\.1: .* of node "node-1" names neither/,
    );
    const k = await kubelet(t, nameOnly);
    await assert.rejects(
      client(t).get(k.url, timeout()),
      /x509: certificate is valid for DNS:node-1, not 127\.0\.0\.1: the kubelet serving certificate does not name the address dialled \(127\.0\.0\.1\);/,
    );
  });

  it("still verifies the chain for a name-only certificate: the right name from the wrong CA is refused", async (t) => {
    const k = await kubelet(t, await otherCA.issue({ dns: ["node-1"] }));
    await assert.rejects(
      client(t).get(k.url, timeout(), "node-1"),
      /certificate signed by unknown authority/,
    );
  });

  it("accepts an IP SAN for the dialled address whatever the node is called", async (t) => {
    const k = await kubelet(t, await ca.issue({ dns: ["elsewhere"], ip: ["127.0.0.1"] }));
    assert.equal(Buffer.from(await client(t).get(k.url, timeout(), "node-1")).toString(), "ok");
  });

  it("says which CA is missing for a certificate from an unknown authority", async (t) => {
    const k = await kubelet(t, await otherCA.issue({ ip: ["127.0.0.1"] }));
    await assert.rejects(client(t).get(k.url, timeout(), "n1"), {
      message:
        `Get "${k.url}": x509: certificate signed by unknown authority: the kubelet serving certificate of ` +
        'node "n1" (issuer "CN=other-ca") is not signed by the kubelet CA (unable to verify the first ' +
        "certificate); pass that CA with --kubelet-certificate-authority (or enable serverTLSBootstrap on " +
        "kubelets), or --kubelet-insecure-tls to skip verification (not recommended)",
    });
  });

  it("gives the not-after time of an expired certificate", async (t) => {
    const notAfter = new Date("2024-03-01T12:00:00Z");
    const k = await kubelet(
      t,
      await ca.issue({ ip: ["127.0.0.1"], notBefore: new Date("2024-01-01T00:00:00Z"), notAfter }),
    );
    await assert.rejects(client(t).get(k.url, timeout(), "n1"), (err: Error) => {
      assert.match(
        err.message,
        /^Get "[^"]+": x509: certificate has expired or is not yet valid: current time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ is after 2024-03-01T12:00:00Z: the kubelet serving certificate of node "n1" expired at 2024-03-01T12:00:00Z \(not after\); renew it /,
      );
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  });

  it("gives the not-before time of a certificate not valid yet", async (t) => {
    const notBefore = new Date(Date.now() + 10 * 24 * 3_600_000);
    notBefore.setUTCMilliseconds(0);
    const k = await kubelet(
      t,
      await ca.issue({ ip: ["127.0.0.1"], notBefore, notAfter: new Date(notBefore.getTime() + 86_400_000) }),
    );
    const when = notBefore.toISOString().replace(".000Z", "Z");
    await assert.rejects(
      client(t).get(k.url, timeout(), "n1"),
      new RegExp(`is not valid before ${when} \\(not before\\); check the clocks`),
    );
  });

  it("never skips verification unless insecureSkipVerify is exactly true", async (t) => {
    const k = await kubelet(t, await otherCA.issue({ dns: ["wrong-name"] }));
    const clientCert = await ca.issue({ cn: "system:metrics-server" });
    const variants: KubeletClientOptions[] = [
      {},
      { insecureSkipVerify: false },
      { insecureSkipVerify: undefined },
      { insecureSkipVerify: "true" as unknown as boolean },
      { insecureSkipVerify: 1 as unknown as boolean },
      { bearerToken: () => "t", cert: Buffer.from(clientCert.certPem), key: Buffer.from(clientCert.keyPem) },
      { completelyInsecure: false, maxBodyBytes: 10 },
    ];
    for (const opts of variants) {
      await assert.rejects(
        client(t, opts).get(k.url, timeout(), "wrong-name"),
        /x509: /,
        JSON.stringify(opts),
      );
    }
    // Without any CA the system roots apply, which do not include a test CA either.
    const bare = new KubeletClient();
    t.after(() => bare.close());
    await assert.rejects(bare.get(k.url, timeout()), /x509: certificate signed by unknown authority/);
    assert.equal(k.requests.length, 0);
  });

  it("with insecureSkipVerify accepts any certificate: unknown CA, wrong name, expired", async (t) => {
    const expired = await otherCA.issue({
      dns: ["x"],
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2021-01-01T00:00:00Z"),
    });
    const k = await kubelet(t, expired);
    const body = await client(t, { insecureSkipVerify: true }).get(k.url, timeout(), "n1");
    assert.equal(Buffer.from(body).toString(), "ok");
  });

  it("verifies every new connection (no session resumption skips the check)", async (t) => {
    const k = await kubelet(t, nameOnly, (_req, res) => {
      res.setHeader("connection", "close");
      res.end("ok");
    });
    const c = client(t);
    for (let i = 0; i < 3; i++)
      assert.equal(Buffer.from(await c.get(k.url, timeout(), "node-1")).toString(), "ok");
    await assert.rejects(c.get(k.url, timeout(), "node-2"), /names neither/);
    assert.equal(k.requests.length, 3);
  });
});

describe("kubelet authentication and authorization failures", () => {
  let ca: TestCA;
  before(async () => {
    ca = await testCA();
  });

  it("names the credentials and the RBAC fix on 401, and the RBAC fix on 403", async (t) => {
    const k = await startFakeKubelet(await ca.issue({ ip: ["127.0.0.1"] }), (req, res) => {
      res.writeHead(req.headers.authorization === "Bearer good" ? 403 : 401);
      res.end("Unauthorized");
    });
    t.after(() => k.close());
    const base = `https://127.0.0.1:${k.port}`;
    const anonymous = new KubeletClient({ ca: Buffer.from(ca.certPem) });
    const withToken = new KubeletClient({ ca: Buffer.from(ca.certPem), bearerToken: () => "good" });
    t.after(() => Promise.all([anonymous.close(), withToken.close()]).then(() => {}));

    await assert.rejects(anonymous.get(`${base}/metrics/resource`, timeout(), "n1"), (err: Error) => {
      assert.ok(err instanceof KubeletHttpError);
      assert.equal(err.status, 401);
      assert.match(
        err.message,
        /^request failed, status: "401 Unauthorized": the kubelet did not authenticate/,
      );
      assert.match(err.message, /TokenReview/);
      assert.match(err.message, /nodes\/metrics \(and nodes\/stats for the Summary API\)/);
      return true;
    });
    await assert.rejects(withToken.get(`${base}/metrics/resource`, timeout(), "n1"), {
      status: 403,
      message:
        `request failed, status: "403 Forbidden": the kubelet's SubjectAccessReview denied get on ` +
        "nodes/metrics: the metrics-server's identity needs get on nodes/metrics (and nodes/stats for the " +
        "Summary API); bind it to a ClusterRole with those rules (system:metrics-server in the release manifests)",
    });
    await assert.rejects(
      withToken.get(`${base}/stats/summary?only_cpu_and_memory=true`, timeout(), "n1"),
      /denied get on nodes\/stats: /,
    );
  });

  it("keeps upstream's bare message for other statuses", () => {
    assert.equal(new KubeletHttpError(502).message, 'request failed, status: "502 Bad Gateway"');
  });
});

describe("Scraper with verified kubelets", () => {
  it("scrapes a name-only kubelet by IP and logs one actionable line for a wrong-CA kubelet, not one per tick", async (t) => {
    const ca = await testCA("kubelet-ca");
    const rogue = await testCA("rogue-ca");
    const good = await startFakeKubelet(await ca.issue({ dns: ["good"] }), (_q, r) => r.end(""));
    const bad = await startFakeKubelet(await rogue.issue({ dns: ["bad"] }), (_q, r) => r.end(""));
    t.after(() => Promise.all([good.close(), bad.close()]).then(() => {}));
    const client = new KubeletClient({ ca: Buffer.from(ca.certPem) });
    t.after(() => client.close());
    const scraper = new Scraper({
      client,
      addressTypes: ["InternalIP"],
      port: 1,
      useNodeStatusPort: true,
      scheme: "https",
      requestTimeoutMs: 20_000,
      random: () => 0,
      endpoint: "resource",
    });
    const node = (name: string, port: number): Node => ({
      metadata: { name },
      status: {
        addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
        conditions: [{ type: "Ready", status: "True" }],
      },
    });
    const lines = captureLogs(t);
    for (let tick = 1; tick <= 2; tick++) {
      const batch = await scraper.scrape([node("good", good.port), node("bad", bad.port)], timeout());
      assert.deepEqual(
        batch.map((s) => s.node),
        ["good"],
      );
      const failures = lines.filter((l) => l.includes('"Failed to scrape node"'));
      // The same cause on the next tick is held back (a failing node must not flood the log).
      assert.equal(failures.length, 1, "one line for the failing node, whatever the ticks");
      assert.match(
        failures[0],
        /err="Get \\"https:\/\/127\.0\.0\.1:\d+\/metrics\/resource\\": x509: certificate signed by unknown authority: the kubelet serving certificate of node \\"bad\\" \(issuer \\"CN=rogue-ca\\"\) is not signed by the kubelet CA .*--kubelet-certificate-authority.*" node="bad"\n$/,
      );
    }
    assert.equal(good.requests.length, 2);
    assert.equal(bad.requests.length, 0);
  });
});

describe("identity rules", () => {
  const cert = (subjectaltname: string | undefined, cn = "ignored"): PeerCertificate =>
    ({ subject: { CN: cn }, subjectaltname }) as unknown as PeerCertificate;

  it("never falls back to the subject CN (as Go since 1.15)", () => {
    assert.equal(
      checkIdentity(cert(undefined, "kubelet.example"), "kubelet.example", undefined)?.problem,
      "name-mismatch",
    );
    assert.equal(
      checkIdentity(cert(undefined, "127.0.0.1"), "127.0.0.1", undefined)?.problem,
      "name-mismatch",
    );
    assert.equal(checkIdentity(cert(undefined, "node-1"), "127.0.0.1", "node-1")?.problem, "name-mismatch");
  });

  it("uses the node name only when the kubelet is dialled by IP", () => {
    assert.equal(checkIdentity(cert("DNS:node-1"), "127.0.0.1", "node-1"), undefined);
    assert.equal(checkIdentity(cert("DNS:node-1"), "::1", "node-1"), undefined);
    assert.equal(checkIdentity(cert("DNS:node-1"), "kubelet.example", "node-1")?.problem, "name-mismatch");
    assert.equal(checkIdentity(cert("DNS:kubelet.example"), "kubelet.example", "node-1"), undefined);
  });

  it("matches the node name exactly (case and a trailing dot aside), not by wildcard or suffix", () => {
    assert.equal(checkIdentity(cert("DNS:Node-1."), "10.0.0.1", "node-1"), undefined);
    assert.ok(checkIdentity(cert("DNS:*.example"), "10.0.0.1", "node-1.example"));
    assert.ok(checkIdentity(cert("DNS:node-1.example"), "10.0.0.1", "node-1"));
    assert.ok(checkIdentity(cert("DNS:node-1"), "10.0.0.1", "node-1.example"));
  });

  it("accepts only plausible DNS names as node identities", () => {
    assert.equal(acceptableNodeName("node-1", "10.0.0.1"), true);
    assert.equal(acceptableNodeName("10.0.0.2", "10.0.0.1"), false);
    assert.equal(acceptableNodeName("node-1", "node-1.example"), false);
    assert.equal(acceptableNodeName(undefined, "10.0.0.1"), false);
    assert.equal(acceptableNodeName(null as unknown as string, "10.0.0.1"), false);
    assert.equal(acceptableNodeName("bad name", "10.0.0.1"), false);
    assert.equal(acceptableNodeName("a".repeat(254), "10.0.0.1"), false);
  });

  it("a certificate naming neither the IP nor the node is refused, whatever the names (property)", () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(label, { minLength: 2, maxLength: 5 }),
        fc.ipV4(),
        fc.ipV4(),
        (names, ip, other) => {
          fc.pre(ip !== other);
          const [node, ...sans] = names;
          const san = [...sans.map((d) => `DNS:${d}`), `IP Address:${other}`].join(", ");
          const err = checkIdentity(cert(san), ip, node);
          assert.equal(err?.problem, "name-mismatch");
          assert.ok(err.describeFor(node).includes(`not ${ip}`));
          assert.equal(checkIdentity(cert(`${san}, DNS:${node}`), ip, node), undefined);
        },
      ),
    );
  });

  it("parses Node's subjectaltname, including quoted entries", () => {
    assert.deepEqual(
      parseSubjectAltNames('DNS:a, IP Address:10.0.0.1, URI:spiffe://x, DNS:"b,c", IP Address:::1'),
      {
        dns: ["a", "b,c"],
        ip: ["10.0.0.1", "::1"],
      },
    );
    assert.deepEqual(parseSubjectAltNames(undefined), { dns: [], ip: [] });
  });
});
