// The simulated kube-apiserver in-process, for its own tests: fresh CAs, an admin client certificate,
// a generated 3-node cluster on a reserved loopback range, the server on a free port and a kubeconfig
// for real kubectl. The caller closes it in `after`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiServer } from "../../sim/apiserver/index.ts";
import { type CA, type CertAndKey, createCA, issueCert, writeKubeconfig } from "../../sim/auth/index.ts";
import { generateScenario } from "../../sim/scenario/index.ts";
import { Cluster } from "../../sim/state/index.ts";
import { type Reply, request } from "./https-request.ts";
import { reserveIpBase } from "./loopback.ts";

type StartOptions = Parameters<typeof ApiServer.start>[0];

export interface SimApiServer {
  ca: CA;
  frontProxyCA: CA;
  /** CN kubernetes-admin, group system:masters. */
  admin: CertAndKey;
  cluster: Cluster;
  api: ApiServer;
  /** The server's URL. */
  base: string;
  /** "127.R", reserved for this server until close(). */
  ipBase: string;
  /** A temporary directory holding `kubeconfig` (the admin's). */
  dir: string;
  /** A request as the admin. */
  call(
    path: string,
    opts?: { method?: string; headers?: Record<string, string>; body?: unknown },
  ): Promise<Reply>;
  close(): Promise<void>;
}

export async function startSimApiServer(
  extra: Partial<Omit<StartOptions, "cluster" | "ca" | "frontProxyClient" | "host" | "port">> = {},
): Promise<SimApiServer> {
  const loopback = reserveIpBase();
  const [ca, frontProxyCA] = await Promise.all([createCA("test-ca"), createCA("test-front-proxy-ca")]);
  const [admin, frontProxyClient] = await Promise.all([
    issueCert(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], client: true }),
    issueCert(frontProxyCA, { commonName: "front-proxy-client", client: true }),
  ]);
  const scenario = generateScenario({
    nodes: 3,
    podsPerNode: 3,
    seed: 7,
    ipBase: loopback.ipBase,
    nowMs: Date.now(),
  });
  const cluster = new Cluster(scenario, { historyLimit: 200 });
  const api = await ApiServer.start({
    availabilityIntervalMs: 60_000,
    proxyTimeoutMs: 5_000,
    ...extra,
    cluster,
    ca,
    frontProxyClient,
    host: `${loopback.ipBase}.0.1`,
    port: 0,
  });
  const base = api.url;
  const dir = await mkdtemp(join(tmpdir(), "kube-sim-test-"));
  await writeKubeconfig(join(dir, "kubeconfig"), { server: base, caCertPem: ca.certPem, client: admin });
  return {
    ca,
    frontProxyCA,
    admin,
    cluster,
    api,
    base,
    ipBase: loopback.ipBase,
    dir,
    call: (path, opts = {}) => request(base, path, { ...opts, client: admin, ca: ca.certPem }),
    close: async () => {
      await api.close();
      await rm(dir, { recursive: true, force: true });
      loopback.release();
    },
  };
}
