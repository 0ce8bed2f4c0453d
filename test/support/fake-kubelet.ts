// Test helpers for the scraper's tests and bench/micro: throw-away P-256 certificates (self-signed, or
// issued by a test CA with chosen SANs and validity) and a fake kubelet HTTPS server on loopback.
import "reflect-metadata"; // the Reflect polyfill @peculiar/x509 requires, loaded before it
import { webcrypto } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import * as x509 from "@peculiar/x509";
import { type TestCert, testCert } from "./certs.ts";

export type { TestCert } from "./certs.ts";

/** A self-signed serving certificate (also its own CA) for the given IP SANs. */
export function selfSignedCert(ips: readonly string[] = ["127.0.0.1"], cn = "kubelet"): Promise<TestCert> {
  return testCert(cn, { ip: ips });
}

export interface FakeKubelet {
  server: Server;
  host: string;
  port: number;
  /** Every request seen, with the remote port of its socket (same port = same connection). */
  requests: { path: string; headers: IncomingMessage["headers"]; remotePort: number }[];
  close(): Promise<void>;
}

/** Starts an HTTPS server on host:0 that answers with `handler`; `clientCA` asks for client certs. */
export async function startFakeKubelet(
  cert: TestCert,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = "127.0.0.1",
  clientCA?: string,
): Promise<FakeKubelet> {
  const sockets = new Set<Socket>();
  const requests: FakeKubelet["requests"] = [];
  const tls = clientCA ? { requestCert: true, rejectUnauthorized: false, ca: clientCA } : {};
  const server = createServer({ cert: cert.certPem, key: cert.keyPem, ...tls }, (req, res) => {
    requests.push({ path: req.url ?? "", headers: req.headers, remotePort: req.socket.remotePort ?? 0 });
    handler(req, res);
  });
  server.on("secureConnection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    host,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A test certificate authority that issues kubelet serving certificates. */
export interface TestCA {
  certPem: string;
  /** The CA's subject as Go prints it, e.g. "CN=kubelet-ca". */
  name: string;
  issue(opts?: ServingCertOptions): Promise<TestCert>;
}

export interface ServingCertOptions {
  cn?: string;
  dns?: readonly string[];
  ip?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
}

type CreateParams = Parameters<typeof x509.X509CertificateGenerator.create>;
const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
    .toString("hex")
    .replace(/^0*/, "1");
}

/** A CA (its own self-signed root) whose leaves carry exactly the SANs and validity asked for. */
export async function testCA(cn = "kubelet-ca"): Promise<TestCA> {
  const keys = await webcrypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `CN=${cn}`,
      notBefore: new Date(now - 48 * 3_600_000),
      notAfter: new Date(now + 48 * 3_600_000),
      signingAlgorithm: ECDSA,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    } as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0],
    webcrypto as unknown as CreateParams[1],
  );
  return {
    certPem: caCert.toString("pem"),
    name: `CN=${cn}`,
    async issue(opts: ServingCertOptions = {}): Promise<TestCert> {
      const leafKeys = await webcrypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
      const san = [
        ...(opts.dns ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(opts.ip ?? []).map((value) => ({ type: "ip" as const, value })),
      ];
      const t = Date.now();
      const leaf = await x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(),
          subject: `CN=${opts.cn ?? "kubelet"}`,
          issuer: caCert.subject,
          notBefore: opts.notBefore ?? new Date(t - 3_600_000),
          notAfter: opts.notAfter ?? new Date(t + 24 * 3_600_000),
          signingAlgorithm: ECDSA,
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            ...(san.length > 0 ? [new x509.SubjectAlternativeNameExtension(san)] : []),
          ],
        } as unknown as CreateParams[0],
        webcrypto as unknown as CreateParams[1],
      );
      const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey);
      return { certPem: leaf.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
    },
  };
}
