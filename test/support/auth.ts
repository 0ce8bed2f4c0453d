// Test helpers for the auth tests: a tiny PKI (CAs, intermediates, client certs with chosen
// subject, validity and extended key usage) and an HTTPS fake API server answering TokenReview,
// SubjectAccessReview and the extension-apiserver-authentication ConfigMap (get and watch).

import { webcrypto, X509Certificate } from "node:crypto";

type CryptoKeyPair = webcrypto.CryptoKeyPair;

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { AuthRequest } from "../../src/apiserver/index.ts";
import { KubeClient } from "../../src/kube/index.ts";
import { testCert } from "./certs.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
type Crypto = Parameters<typeof x509.X509CertificateGenerator.create>[1];

export interface Issued {
  cert: X509Certificate;
  pem: string;
  keys: CryptoKeyPair;
  name: string;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
    .toString("hex")
    .replace(/^0*/, "1");
}

export async function makeCA(cn: string): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const c = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `CN=${cn}`,
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + 24 * 3_600_000),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(
          keys.publicKey,
          false,
          webcrypto as unknown as Crypto,
        ),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pem = c.toString("pem");
  return { cert: new X509Certificate(pem), pem, keys, name: `CN=${cn}` };
}

export interface LeafOptions {
  organizations?: string[];
  ca?: boolean;
  /** Extended key usage OIDs; undefined = no extension. */
  eku?: string[];
  notBefore?: Date;
  notAfter?: Date;
}

export const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
export const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

export async function issue(issuer: Issued, cn: string, o: LeafOptions = {}): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const name = [`CN=${cn}`, ...(o.organizations ?? []).map((org) => `O=${org}`)].join(", ");
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(o.ca === true, undefined, true),
    await x509.AuthorityKeyIdentifierExtension.create(
      issuer.keys.publicKey,
      false,
      webcrypto as unknown as Crypto,
    ),
  ];
  if (o.ca) extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true));
  if (o.eku) extensions.push(new x509.ExtendedKeyUsageExtension(o.eku, false));
  const c = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: name,
      issuer: issuer.name,
      notBefore: o.notBefore ?? new Date(now - 3_600_000),
      notAfter: o.notAfter ?? new Date(now + 24 * 3_600_000),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      extensions,
    },
    webcrypto as unknown as Crypto,
  );
  const pem = c.toString("pem");
  return { cert: new X509Certificate(pem), pem, keys, name };
}

export function request(
  path: string,
  o: { method?: string; headers?: AuthRequest["headers"]; certs?: X509Certificate[]; query?: string } = {},
): AuthRequest {
  return {
    method: o.method ?? "GET",
    path,
    query: new URLSearchParams(o.query ?? ""),
    headers: o.headers ?? {},
    peerCertificates: o.certs ?? [],
  };
}

export interface SarCall {
  spec: Record<string, unknown>;
}

/** A fake kube-apiserver for delegated auth. Handlers are replaceable per test. */
export class FakeAuthApiServer {
  url = "";
  ca = Buffer.alloc(0);
  configMap: { metadata: Record<string, unknown>; data: Record<string, string> } | undefined;
  configMapStatus = 200;
  tokens = new Map<string, { username: string; groups?: string[]; uid?: string }>();
  /** Decides a SubjectAccessReview spec: allowed / denied / reason; throw-like `fail` answers 500. */
  sar: (spec: Record<string, unknown>) => { allowed: boolean; denied?: boolean; reason?: string } | "fail" =
    () => ({
      allowed: false,
    });
  tokenReviews = 0;
  readonly sarCalls: SarCall[] = [];
  private server: Server | undefined;
  private readonly watches = new Set<ServerResponse>();
  private rv = 1;

  async start(): Promise<void> {
    const tls = await testCert("fake-apiserver", { ip: ["127.0.0.1"] });
    this.ca = Buffer.from(tls.certPem);
    this.server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  client(): KubeClient {
    return new KubeClient({ server: this.url, ca: this.ca, insecureSkipTLSVerify: false });
  }

  /** Replaces the ConfigMap and tells every open watch. */
  updateConfigMap(data: Record<string, string>): void {
    this.rv++;
    const existed = this.configMap !== undefined;
    this.configMap = { metadata: this.meta(), data };
    for (const w of this.watches)
      w.write(`${JSON.stringify({ type: existed ? "MODIFIED" : "ADDED", object: this.configMap })}\n`);
  }

  watchCount(): number {
    return this.watches.size;
  }

  private meta(): Record<string, unknown> {
    return {
      name: "extension-apiserver-authentication",
      namespace: "kube-system",
      resourceVersion: String(this.rv),
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? "/", "https://x");
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const json = (code: number, obj: unknown): void => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify(obj));
      };
      if (req.method === "POST" && u.pathname === "/apis/authentication.k8s.io/v1/tokenreviews") {
        this.tokenReviews++;
        const review = JSON.parse(body);
        const user = this.tokens.get(review.spec.token);
        return json(201, {
          ...review,
          status: user ? { authenticated: true, user } : { authenticated: false },
        });
      }
      if (req.method === "POST" && u.pathname === "/apis/authorization.k8s.io/v1/subjectaccessreviews") {
        const review = JSON.parse(body);
        this.sarCalls.push({ spec: review.spec });
        const answer = this.sar(review.spec);
        if (answer === "fail") return json(500, { kind: "Status", message: "etcd is down", code: 500 });
        return json(201, { ...review, status: answer });
      }
      const base = "/api/v1/namespaces/kube-system/configmaps";
      if (u.pathname === `${base}/extension-apiserver-authentication`) {
        if (this.configMapStatus !== 200)
          return json(this.configMapStatus, { kind: "Status", message: "no", code: this.configMapStatus });
        if (!this.configMap) return json(404, { kind: "Status", reason: "NotFound", code: 404 });
        return json(200, this.configMap);
      }
      if (u.pathname === base) {
        if (this.configMapStatus !== 200)
          return json(this.configMapStatus, { kind: "Status", message: "no", code: this.configMapStatus });
        if (u.searchParams.get("watch") === "true") {
          res.writeHead(200, { "content-type": "application/json" });
          res.flushHeaders();
          this.watches.add(res);
          res.on("close", () => this.watches.delete(res));
          return;
        }
        return json(200, {
          kind: "ConfigMapList",
          apiVersion: "v1",
          metadata: { resourceVersion: String(this.rv) },
          items: this.configMap ? [this.configMap] : [],
        });
      }
      json(404, { kind: "Status", code: 404 });
    });
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
