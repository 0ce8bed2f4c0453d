// Test helpers (used only by *.test.ts in this folder): a throw-away self-signed P-256 certificate and
// a fake kubelet HTTPS server on loopback.
import { webcrypto } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import "reflect-metadata"; // the Reflect polyfill @peculiar/x509 requires (its README), loaded first
import * as x509 from "@peculiar/x509";

type SelfSignedParams = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>;

export interface TestCert {
  certPem: string;
  keyPem: string;
}

/** A self-signed serving certificate (also its own CA) for the given IP SANs. */
export async function selfSignedCert(
  ips: readonly string[] = ["127.0.0.1"],
  cn = "kubelet",
): Promise<TestCert> {
  const crypto = webcrypto;
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const now = Date.now();
  const params = {
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8)))
      .toString("hex")
      .replace(/^0*/, "1"),
    name: `CN=${cn}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(ips.map((value) => ({ type: "ip" as const, value }))),
    ],
  };
  // Node's webcrypto types and the DOM types x509 declares describe the same objects.
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    params as unknown as SelfSignedParams[0],
    crypto as unknown as SelfSignedParams[1],
  );
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n?$/, "\n")}-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString("pem"), keyPem };
}

export interface FakeKubelet {
  server: Server;
  host: string;
  port: number;
  /** Every request seen, with the remote port of its socket (same port = same connection). */
  requests: { path: string; headers: IncomingMessage["headers"]; remotePort: number }[];
  close(): Promise<void>;
}

/** Starts an HTTPS server on host:0 that answers with `handler`. */
export async function startFakeKubelet(
  cert: TestCert,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = "127.0.0.1",
): Promise<FakeKubelet> {
  const sockets = new Set<Socket>();
  const requests: FakeKubelet["requests"] = [];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
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
