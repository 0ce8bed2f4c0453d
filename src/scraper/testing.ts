// Test helpers (used only by *.test.ts in this folder): a throw-away self-signed P-256 certificate and
// a fake kubelet HTTPS server on loopback.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { type TestCert, testCert } from "../../test/support/certs.ts";

export type { TestCert } from "../../test/support/certs.ts";

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
