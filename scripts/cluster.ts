// What a cluster admin does to install metrics-server's API, done against the simulated cluster:
// create the Service, its Endpoints and the APIService `v1beta1.metrics.k8s.io` (the objects in
// upstream's manifests: kubernetes-sigs/metrics-server manifests/base/apiservice.yaml and
// service.yaml), plus our diagnostics group's APIService and its reader ClusterRole (as in
// deploy/base), using the admin credentials of a kubeconfig. Shared by the demo and the
// end-to-end tests; talks to the simulator only over its HTTPS API, like kubectl would.
import { readFileSync } from "node:fs";
import https from "node:https";
import { parse as parseYaml } from "yaml";

export interface AdminCredentials {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
  users?: { name: string; user: { "client-certificate-data"?: string; "client-key-data"?: string } }[];
}

/** The admin credentials: the current context (`admin` in the simulator's kubeconfig). */
export function readAdminCredentials(kubeconfigPath: string): AdminCredentials {
  return readContextCredentials(kubeconfigPath);
}

/** The client-certificate credentials of one context (default: the current one). */
export function readContextCredentials(kubeconfigPath: string, context?: string): AdminCredentials {
  const kc = parseYaml(readFileSync(kubeconfigPath, "utf8")) as KubeconfigFile;
  const name = context ?? kc["current-context"];
  const ctx = kc.contexts?.find((c) => c.name === name)?.context;
  const cluster = kc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = kc.users?.find((u) => u.name === ctx?.user)?.user;
  if (
    !cluster?.["certificate-authority-data"] ||
    !user?.["client-certificate-data"] ||
    !user["client-key-data"]
  ) {
    throw new Error(
      `${kubeconfigPath}: expected context ${JSON.stringify(name)} with inline CA and client certificate data`,
    );
  }
  const b64 = (s: string) => Buffer.from(s, "base64");
  return {
    server: cluster.server,
    ca: b64(cluster["certificate-authority-data"]),
    cert: b64(user["client-certificate-data"]),
    key: b64(user["client-key-data"]),
  };
}

export interface ApiResult {
  status: number;
  body: string;
}

/** One HTTPS request to the API server with the admin credentials. */
export function apiRequest(
  creds: AdminCredentials,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResult> {
  const url = new URL(path, creds.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
        headers: {
          accept: "application/json",
          ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          ...headers,
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

async function create(creds: AdminCredentials, path: string, obj: unknown, replace = false): Promise<void> {
  let res = await apiRequest(creds, "POST", path, obj);
  if (res.status === 409 && replace) {
    // Registered before, maybe with other TLS settings: replace it so the new ones apply.
    const name = (obj as { metadata: { name: string } }).metadata.name;
    const del = await apiRequest(creds, "DELETE", `${path}/${encodeURIComponent(name)}`);
    if (del.status !== 200 && del.status !== 404) {
      throw new Error(`DELETE ${path}/${name}: HTTP ${del.status}: ${del.body.slice(0, 300)}`);
    }
    res = await apiRequest(creds, "POST", path, obj);
  }
  if (res.status === 409) return; // already registered: re-running the demo against the same sim
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`POST ${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  }
}

export interface RegisterOptions {
  /**
   * The CA (PEM, or already base64 as the field holds it) that signed the metrics-server's serving
   * certificate for metrics-server.kube-system.svc: the aggregator then verifies the backend
   * instead of the manifests' insecureSkipTLSVerify.
   */
  caBundle?: string;
}

/** The APIService's caBundle field: base64 of the PEM bundle. */
function caBundleField(bundle: string): string {
  const text = bundle.trim();
  if (text.startsWith("-----BEGIN")) return Buffer.from(`${text}\n`, "utf8").toString("base64");
  const decoded = Buffer.from(text, "base64").toString("utf8");
  if (!decoded.includes("-----BEGIN CERTIFICATE-----")) {
    throw new Error("registerMetricsApi: caBundle must be PEM certificates (or their base64)");
  }
  return text;
}

/**
 * Registers metrics.k8s.io/v1beta1 and diagnostics.metrics-server.x-k8s.io/v1alpha1 in the cluster,
 * served by the metrics-server at ip:port: with insecureSkipTLSVerify as upstream's manifests do, or
 * verified against opts.caBundle.
 */
export async function registerMetricsApi(
  kubeconfigPath: string,
  ip: string,
  port: number,
  opts: RegisterOptions = {},
): Promise<void> {
  const tls =
    opts.caBundle === undefined
      ? { insecureSkipTLSVerify: true }
      : { caBundle: caBundleField(opts.caBundle) };
  const creds = readAdminCredentials(kubeconfigPath);
  const labels = { "k8s-app": "metrics-server" };
  await create(creds, "/api/v1/namespaces/kube-system/services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "metrics-server", namespace: "kube-system", labels },
    spec: {
      selector: labels,
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: "https", appProtocol: "https" }],
    },
  });
  await create(creds, "/api/v1/namespaces/kube-system/endpoints", {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "metrics-server", namespace: "kube-system", labels },
    subsets: [{ addresses: [{ ip }], ports: [{ name: "https", port, protocol: "TCP" }] }],
  });
  for (const [group, version] of [
    ["metrics.k8s.io", "v1beta1"],
    ["diagnostics.metrics-server.x-k8s.io", "v1alpha1"],
  ]) {
    await create(
      creds,
      "/apis/apiregistration.k8s.io/v1/apiservices",
      {
        apiVersion: "apiregistration.k8s.io/v1",
        kind: "APIService",
        metadata: { name: `${version}.${group}`, labels },
        spec: {
          service: { name: "metrics-server", namespace: "kube-system" },
          group,
          version,
          ...tls,
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
      true,
    );
  }
  // Who may read the scrape status: view, edit and admin, through aggregation (docs/diagnostics.md).
  const aggregate = (role: string) => `rbac.authorization.k8s.io/aggregate-to-${role}`;
  await create(creds, "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: {
      name: "system:metrics-server-diagnostics-reader",
      labels: {
        ...labels,
        [aggregate("view")]: "true",
        [aggregate("edit")]: "true",
        [aggregate("admin")]: "true",
      },
    },
    rules: [
      {
        apiGroups: ["diagnostics.metrics-server.x-k8s.io"],
        resources: ["nodescrapes", "serverstatuses"],
        verbs: ["get", "list"],
      },
    ],
  });
}

export interface Truth {
  nodes: { name: string; cpuNanocores: number; memoryBytes: number; swapBytes?: number }[];
  pods: {
    namespace: string;
    name: string;
    node: string;
    phase: string;
    containers: { name: string; cpuNanocores: number; memoryBytes: number; swapBytes?: number }[];
  }[];
}

/** The simulator's configured truth (GET /sim/truth). */
export async function readTruth(kubeconfigPath: string): Promise<Truth> {
  const res = await apiRequest(readAdminCredentials(kubeconfigPath), "GET", "/sim/truth");
  if (res.status !== 200) throw new Error(`GET /sim/truth: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as Truth;
}
