// Table and PartialObjectMetadata views of objects (what kubectl get asks for), with kubectl's columns.

import type { KubeObject, Resource } from "../state/index.ts";
import { rec } from "./http.ts";

// --- Object views -------------------------------------------------------------------------------

export function partialMetadata(o: KubeObject): KubeObject {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

/** kube's HumanDuration, used in the AGE column. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type = "string", priority = 0, format = ""): Column => ({
  name,
  type,
  format,
  description: name,
  priority,
});

function ageOf(o: KubeObject, nowMs: number): string {
  const t = Date.parse(o.metadata.creationTimestamp);
  return Number.isFinite(t) ? humanDuration(nowMs - t) : "<unknown>";
}

function nodeRow(o: KubeObject, nowMs: number): unknown[] {
  const status = rec(o.status);
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(rec) : [];
  const ready = conditions.find((c) => c.type === "Ready");
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .sort();
  const addresses = Array.isArray(status.addresses) ? status.addresses.map(rec) : [];
  const addr = (t: string) => String(addresses.find((a) => a.type === t)?.address ?? "<none>");
  const info = rec(status.nodeInfo);
  return [
    o.metadata.name,
    ready?.status === "True" ? "Ready" : ready ? "NotReady" : "Unknown",
    roles.length > 0 ? roles.join(",") : "<none>",
    ageOf(o, nowMs),
    String(info.kubeletVersion ?? ""),
    addr("InternalIP"),
    addr("ExternalIP"),
    String(info.osImage ?? ""),
    String(info.kernelVersion ?? ""),
    String(info.containerRuntimeVersion ?? ""),
  ];
}

function podRow(o: KubeObject, nowMs: number): unknown[] {
  const spec = rec(o.spec);
  const status = rec(o.status);
  const statuses = Array.isArray(status.containerStatuses) ? status.containerStatuses.map(rec) : [];
  const initStatuses = Array.isArray(status.initContainerStatuses)
    ? status.initContainerStatuses.map(rec)
    : [];
  const inits = Array.isArray(spec.initContainers) ? spec.initContainers.map(rec) : [];
  const sidecars = new Set(inits.filter((c) => c.restartPolicy === "Always").map((c) => c.name));
  const counted = [...statuses, ...initStatuses.filter((s) => sidecars.has(s.name))];
  const total = (Array.isArray(spec.containers) ? spec.containers.length : 0) + sidecars.size;
  const ready = counted.filter((s) => s.ready === true).length;
  let reason = String(status.phase ?? "Unknown");
  for (const s of statuses) {
    const st = rec(s.state);
    const r = rec(st.waiting).reason ?? rec(st.terminated).reason;
    if (typeof r === "string" && r !== "") reason = r;
  }
  const restarts = counted.reduce((n, s) => n + (typeof s.restartCount === "number" ? s.restartCount : 0), 0);
  return [
    o.metadata.name,
    `${ready}/${total}`,
    reason,
    restarts,
    ageOf(o, nowMs),
    String(status.podIP ?? "<none>"),
    String(spec.nodeName || "<none>"),
    "<none>",
    "<none>",
  ];
}

function apiServiceRow(o: KubeObject, nowMs: number): unknown[] {
  const spec = rec(o.spec);
  const svc = rec(spec.service);
  const conds = Array.isArray(rec(o.status).conditions)
    ? (rec(o.status).conditions as unknown[]).map(rec)
    : [];
  const avail = conds.find((c) => c.type === "Available");
  const available =
    avail === undefined
      ? "Unknown"
      : avail.status === "True"
        ? "True"
        : `${String(avail.status)} (${String(avail.reason)})`;
  return [
    o.metadata.name,
    spec.service ? `${String(svc.namespace)}/${String(svc.name)}` : "Local",
    available,
    ageOf(o, nowMs),
  ];
}

type TableView = { columns: Column[]; row: (o: KubeObject, nowMs: number) => unknown[] };

/** kubectl's default view of a resource without a table of its own here: name and age. */
const NAME_AGE: TableView = {
  columns: [col("Name", "string", 0, "name"), col("Age")],
  row: (o, nowMs) => [o.metadata.name, ageOf(o, nowMs)],
};

const TABLES: Partial<Record<Resource, TableView>> = {
  nodes: {
    columns: [
      col("Name", "string", 0, "name"),
      col("Status"),
      col("Roles"),
      col("Age"),
      col("Version"),
      col("Internal-IP", "string", 1),
      col("External-IP", "string", 1),
      col("OS-Image", "string", 1),
      col("Kernel-Version", "string", 1),
      col("Container-Runtime", "string", 1),
    ],
    row: nodeRow,
  },
  pods: {
    columns: [
      col("Name", "string", 0, "name"),
      col("Ready"),
      col("Status"),
      col("Restarts", "string"),
      col("Age"),
      col("IP", "string", 1),
      col("Node", "string", 1),
      col("Nominated Node", "string", 1),
      col("Readiness Gates", "string", 1),
    ],
    row: podRow,
  },
  apiservices: {
    columns: [col("Name", "string", 0, "name"), col("Service"), col("Available"), col("Age")],
    row: apiServiceRow,
  },
  services: {
    columns: [col("Name", "string", 0, "name"), col("Created At", "date")],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp],
  },
  endpoints: {
    columns: [col("Name", "string", 0, "name"), col("Created At", "date")],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp],
  },
  configmaps: {
    columns: [col("Name", "string", 0, "name"), col("Data", "integer"), col("Age")],
    row: (o, nowMs) => [o.metadata.name, Object.keys(rec(o.data)).length, ageOf(o, nowMs)],
  },
  namespaces: {
    columns: [col("Name", "string", 0, "name"), col("Status"), col("Age")],
    row: (o, nowMs) => [o.metadata.name, String(rec(o.status).phase ?? ""), ageOf(o, nowMs)],
  },
  secrets: {
    columns: [col("Name", "string", 0, "name"), col("Type"), col("Data", "integer"), col("Age")],
    row: (o, nowMs) => [
      o.metadata.name,
      String(o.type ?? ""),
      Object.keys(rec(o.data)).length,
      ageOf(o, nowMs),
    ],
  },
  deployments: {
    columns: [
      col("Name", "string", 0, "name"),
      col("Ready"),
      col("Up-to-date", "integer"),
      col("Available", "integer"),
      col("Age"),
    ],
    row: (o, nowMs) => {
      const status = rec(o.status);
      const n = (v: unknown) => (typeof v === "number" ? v : 0);
      return [
        o.metadata.name,
        `${n(status.readyReplicas)}/${n(rec(o.spec).replicas)}`,
        n(status.updatedReplicas),
        n(status.availableReplicas),
        ageOf(o, nowMs),
      ];
    },
  },
  poddisruptionbudgets: {
    columns: [
      col("Name", "string", 0, "name"),
      col("Min Available"),
      col("Max Unavailable"),
      col("Allowed Disruptions", "integer"),
      col("Age"),
    ],
    row: (o, nowMs) => {
      const spec = rec(o.spec);
      return [
        o.metadata.name,
        spec.minAvailable === undefined ? "N/A" : String(spec.minAvailable),
        spec.maxUnavailable === undefined ? "N/A" : String(spec.maxUnavailable),
        Number(rec(o.status).disruptionsAllowed ?? 0),
        ageOf(o, nowMs),
      ];
    },
  },
  clusterrolebindings: {
    columns: [col("Name", "string", 0, "name"), col("Role"), col("Age")],
    row: bindingRow,
  },
  rolebindings: { columns: [col("Name", "string", 0, "name"), col("Role"), col("Age")], row: bindingRow },
};

function bindingRow(o: KubeObject, nowMs: number): unknown[] {
  const ref = rec(o.roleRef);
  return [o.metadata.name, `${String(ref.kind ?? "")}/${String(ref.name ?? "")}`, ageOf(o, nowMs)];
}

export function toTable(
  resource: Resource,
  items: KubeObject[],
  listMeta: Record<string, unknown>,
  includeObject: string,
): Record<string, unknown> {
  const t = TABLES[resource] ?? NAME_AGE;
  const now = Date.now();
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: t.columns,
    rows: items.map((o) => ({
      cells: t.row(o, now),
      ...(includeObject === "None" ? {} : { object: includeObject === "Object" ? o : partialMetadata(o) }),
    })),
  };
}
