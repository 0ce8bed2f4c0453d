// Hand-written YAML scenario files (loadScenarioFile; the schema is documented below).

import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";
import { parseQuantity } from "../quantity.ts";
import {
  NODE_ADDRESS_TYPES,
  type NodeAddress,
  type NodeAddressType,
  type PodPhase,
  type Scenario,
  type SimInitContainer,
  type SimNode,
  type SimPod,
} from "../types.ts";
import { nodeIP } from "./generate.ts";
import { Rng } from "./rng.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// The schema:
//
//   # Every field except names is optional.
//   nodes:
//     - name: worker-1                 # required, unique
//       labels: {zone: a}              # merged over kubernetes.io/{hostname,os,arch}
//       cpu: 4                         # capacity, cores (default 4)
//       memory: 16Gi                   # capacity (default 16Gi)
//       overhead: {cpu: 100m, memory: 512Mi, swap: 0}   # system usage outside pods (these defaults)
//       ready: true                    # default true (false: NotReady, but the kubelet still serves)
//       kubeletPort: 10250             # default 10250; 0 = any free port, published in
//                                      #   status.daemonEndpoints.kubeletEndpoint.Port
//       age: 24h                       # time since boot (default 24h); units ms s m h d
//       internalIP: 127.R.9.1          # where the kubelet listens, IPv4 or IPv6 (e.g. "::1"); default:
//                                      #   the first InternalIP in `addresses`, else nodeIP(ipBase, i)
//       addresses:                     # replaces status.addresses (default: InternalIP, Hostname)
//         - {type: ExternalIP, address: 127.R.250.1}  # type: Hostname | InternalIP | ExternalIP |
//         - {type: InternalIP, address: 127.R.9.1}    #   InternalDNS | ExternalDNS; IP types need an IP,
//         - {type: Hostname, address: worker-1}       #   the others a DNS name; [] = no addresses
//       summaryOnly: false             # true: resource metrics answer 404 (at any path), only
//                                      #   /stats/summary is served (like --summary-only-nodes)
//       resourceMetricsPath: /custom   # annotation metrics.k8s.io/resource-metrics-path on the Node; the
//                                      #   kubelet serves resource metrics there (404 on /metrics/resource)
//       servingCertSANs: dns-only      # the kubelet's serving cert has one DNS SAN (the node name) and no
//                                      #   IP SAN, like kubelets with self-signed/CSR certs (default: all)
//   pods:
//     - name: web                      # required, unique per namespace
//       namespace: default             # default "default"
//       node: worker-1                 # default: the nodes in turn
//       labels: {app: web}             # default {}
//       phase: Running                 # Pending | Running | Succeeded | Failed (default Running)
//       age: 30m                       # time since the pod started (default 30m)
//       containers:                    # at least one
//         - name: nginx                # required, unique within the pod
//           cpu: 50m                   # default 100m
//           memory: 50Mi               # default 64Mi
//           swap: 10Mi                 # swap usage (default 0)
//       initContainers:
//         - name: setup                # required
//           sidecar: false             # true = restartPolicy Always: runs beside the containers
//           cpu: 10m                   # (usage while running; a completed init container is not reported)
//           memory: 10Mi
//           swap: 0                    # default 0
//
// Timing: a pod starts `age` before nowMs; its init containers start 1 s later and its containers
// 2 s later. Node i gets nodeIP(ipBase, i) unless it says otherwise. "127.R" at the start of an
// address or internalIP stands for the run's --ip-base, so one file works in any loopback range.
// No two kubelets may share an address and a fixed port.

type Obj = Record<string, unknown>;

class ScenarioFileError extends Error {}

function fail(where: string, problem: string): never {
  throw new ScenarioFileError(where ? `${where}: ${problem}` : problem);
}

function asObject(v: unknown, where: string): Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    fail(where, `want a mapping, got ${describe(v)}`);
  return v as Obj;
}

function asList(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(where, `want a list, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function checkKeys(o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k))
      fail(where, `unknown field ${JSON.stringify(k)} (allowed: ${allowed.join(", ")})`);
  }
}

function str(o: Obj, key: string, where: string, dflt?: string): string {
  const v = o[key];
  if (v === undefined || v === null) {
    if (dflt === undefined) fail(where, `missing required field ${JSON.stringify(key)}`);
    return dflt;
  }
  if (typeof v !== "string" || v === "")
    fail(`${where}.${key}`, `want a non-empty string, got ${describe(v)}`);
  return v;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function name(o: Obj, key: string, where: string, pattern: RegExp, dflt?: string): string {
  const v = str(o, key, where, dflt);
  if (v.length > 253 || !pattern.test(v))
    fail(`${where}.${key}`, `${JSON.stringify(v)} is not a valid Kubernetes name`);
  return v;
}

function labels(o: Obj, where: string): Record<string, string> {
  const v = o.labels;
  if (v === undefined || v === null) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(asObject(v, `${where}.labels`))) {
    // YAML turns `true` and `1` into non-strings; labels are strings, so accept scalars and stringify.
    if (val === null) out[k] = "";
    else if (typeof val === "string" || typeof val === "number" || typeof val === "boolean")
      out[k] = String(val);
    else fail(`${where}.labels.${k}`, `want a string, got ${describe(val)}`);
  }
  return out;
}

function quantity(o: Obj, key: string, where: string, dflt: number): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  try {
    return parseQuantity(v);
  } catch (err) {
    fail(`${where}.${key}`, (err as Error).message);
  }
}

function bool(o: Obj, key: string, where: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") fail(`${where}.${key}`, `want true or false, got ${describe(v)}`);
  return v;
}

const DURATION_UNIT: Record<string, number> = { ms: 1, s: 1000, m: MINUTE, h: HOUR, d: DAY };

function duration(o: Obj, key: string, where: string, dflt: number): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m) fail(`${where}.${key}`, `invalid duration ${describe(v)}: want e.g. "90s", "30m", "2h", "3d"`);
  return Number(m[1]) * DURATION_UNIT[m[2]];
}

const PHASES: readonly PodPhase[] = ["Pending", "Running", "Succeeded", "Failed"];

/** "127.R.x.y" → "<ipBase>.x.y"; anything else unchanged. */
export function substituteIpBase(address: string, ipBase: string): string {
  return address.startsWith("127.R.") ? `${ipBase}.${address.slice("127.R.".length)}` : address;
}

function ipAddress(value: unknown, where: string, ipBase: string): string {
  if (typeof value !== "string" || value === "") fail(where, `want an IP address, got ${describe(value)}`);
  const ip = substituteIpBase(value.trim(), ipBase);
  if (isIP(ip) === 0) {
    fail(
      where,
      `${JSON.stringify(value)} is not an IPv4 or IPv6 address (127.R.x.y stands for the --ip-base range)`,
    );
  }
  return ip;
}

function nodeAddresses(v: unknown, where: string, ipBase: string): NodeAddress[] {
  if (!Array.isArray(v)) fail(where, `want a list of {type, address}, got ${describe(v)}`);
  return v.map((raw, j) => {
    const at = `${where}[${j}]`;
    const o = asObject(raw, at);
    checkKeys(o, ["type", "address"], at);
    const type = str(o, "type", at) as NodeAddressType;
    if (!NODE_ADDRESS_TYPES.includes(type)) {
      fail(`${at}.type`, `want one of ${NODE_ADDRESS_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
    }
    if (type === "InternalIP" || type === "ExternalIP") {
      return { type, address: ipAddress(o.address, `${at}.address`, ipBase) };
    }
    const address = str(o, "address", at);
    if (address.length > 253 || !DNS_SUBDOMAIN.test(address)) {
      fail(`${at}.address`, `${JSON.stringify(address)} is not a valid DNS name for a ${type} address`);
    }
    return { type, address };
  });
}

// URL path characters (RFC 3986 pchar and "/"); no query or fragment.
const URL_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

function resourceMetricsPath(o: Obj, where: string): string | undefined {
  if (o.resourceMetricsPath === undefined || o.resourceMetricsPath === null) return undefined;
  const path = str(o, "resourceMetricsPath", where);
  if (!URL_PATH.test(path)) {
    fail(
      `${where}.resourceMetricsPath`,
      `${JSON.stringify(path)} is not a URL path: want "/" followed by path characters, no query or fragment`,
    );
  }
  if (path === "/stats/summary") {
    fail(`${where}.resourceMetricsPath`, `"/stats/summary" is the Summary API; pick another path`);
  }
  return path;
}

/** "host:port" with IPv6 bracketed, and the IP in its canonical form so equal addresses compare equal. */
function listenKey(ip: string, port: number): string {
  return isIP(ip) === 6 ? `${new URL(`http://[${ip}]/`).host}:${port}` : `${ip}:${port}`;
}

/** Deterministic uid from a name, so a scenario file always yields the same uids. */
function uidFor(kind: string, key: string): string {
  let h = 2166136261;
  for (const ch of `${kind}/${key}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return new Rng(h >>> 0).uuid();
}

function parseContainer(raw: unknown, where: string, startTimeMs: number, init: boolean): SimInitContainer {
  const o = asObject(raw, where);
  checkKeys(
    o,
    init ? ["name", "cpu", "memory", "swap", "sidecar"] : ["name", "cpu", "memory", "swap"],
    where,
  );
  const cpuCores = quantity(o, "cpu", where, 0.1);
  const memory = quantity(o, "memory", where, 64 * MiB);
  return {
    name: name(o, "name", where, DNS_LABEL),
    cpuMilli: Math.round(cpuCores * 1e9) / 1e6, // nanocore precision, as Kubernetes keeps it
    memoryBytes: Math.ceil(memory), // fractional bytes round up, as Kubernetes does
    swapBytes: Math.ceil(quantity(o, "swap", where, 0)),
    startTimeMs,
    sidecar: init ? bool(o, "sidecar", where, false) : false,
  };
}

export function parseScenario(doc: unknown, opts: { ipBase: string; nowMs: number }): Scenario {
  const now = Math.floor(opts.nowMs);
  const root = asObject(doc ?? {}, "");
  checkKeys(root, ["nodes", "pods"], "top level");
  const nodes: SimNode[] = [];
  const nodeNames = new Set<string>();
  const listenAddresses = new Map<string, string>();
  asList(root.nodes, "nodes").forEach((raw, i) => {
    const where = `nodes[${i}]`;
    const o = asObject(raw, where);
    checkKeys(
      o,
      [
        "name",
        "labels",
        "cpu",
        "memory",
        "overhead",
        "ready",
        "kubeletPort",
        "age",
        "internalIP",
        "addresses",
        "summaryOnly",
        "resourceMetricsPath",
        "servingCertSANs",
      ],
      where,
    );
    const nodeName = name(o, "name", where, DNS_SUBDOMAIN);
    if (nodeNames.has(nodeName)) fail(`${where}.name`, `duplicate node name ${JSON.stringify(nodeName)}`);
    nodeNames.add(nodeName);
    const overhead = asObject(o.overhead ?? {}, `${where}.overhead`);
    checkKeys(overhead, ["cpu", "memory", "swap"], `${where}.overhead`);
    const port = o.kubeletPort ?? 10250;
    if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
      fail(
        `${where}.kubeletPort`,
        `want a port number 1..65535, or 0 for any free port, got ${describe(port)}`,
      );
    }
    const addresses =
      o.addresses === undefined || o.addresses === null
        ? undefined
        : nodeAddresses(o.addresses, `${where}.addresses`, opts.ipBase);
    const internalIP =
      o.internalIP !== undefined && o.internalIP !== null
        ? ipAddress(o.internalIP, `${where}.internalIP`, opts.ipBase)
        : (addresses?.find((a) => a.type === "InternalIP")?.address ?? nodeIP(opts.ipBase, i));
    if (port !== 0) {
      const key = listenKey(internalIP, port as number);
      const other = listenAddresses.get(key);
      if (other !== undefined) {
        fail(where, `kubelet address ${key} is already used by node ${JSON.stringify(other)}`);
      }
      listenAddresses.set(key, nodeName);
    }
    const metricsPath = resourceMetricsPath(o, where);
    const summaryOnly = bool(o, "summaryOnly", where, false);
    const sans = o.servingCertSANs;
    if (sans !== undefined && sans !== null && sans !== "dns-only" && sans !== "all") {
      fail(`${where}.servingCertSANs`, `want "dns-only" or "all", got ${describe(sans)}`);
    }
    const bootTimeMs = now - duration(o, "age", where, DAY);
    nodes.push({
      name: nodeName,
      uid: uidFor("node", nodeName),
      labels: {
        "kubernetes.io/hostname": nodeName,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...labels(o, where),
      },
      internalIP,
      hostname: addresses?.find((a) => a.type === "Hostname")?.address ?? nodeName,
      kubeletPort: port as number,
      ...(addresses ? { addresses } : {}),
      ...(summaryOnly ? { summaryOnly } : {}),
      ...(metricsPath ? { resourceMetricsPath: metricsPath } : {}),
      ...(sans === "dns-only" ? { servingCertSANs: "dns-only" as const } : {}),
      cpuCores: quantity(o, "cpu", where, 4),
      memoryBytes: Math.ceil(quantity(o, "memory", where, 16 * GiB)),
      overheadCpuMilli: Math.round(quantity(overhead, "cpu", `${where}.overhead`, 0.1) * 1e9) / 1e6,
      overheadMemoryBytes: Math.ceil(quantity(overhead, "memory", `${where}.overhead`, 512 * MiB)),
      overheadSwapBytes: Math.ceil(quantity(overhead, "swap", `${where}.overhead`, 0)),
      bootTimeMs,
      creationTimestampMs: bootTimeMs - MINUTE,
      ready: bool(o, "ready", where, true),
    });
  });

  const pods: SimPod[] = [];
  const podKeys = new Set<string>();
  asList(root.pods, "pods").forEach((raw, i) => {
    const where = `pods[${i}]`;
    const o = asObject(raw, where);
    checkKeys(
      o,
      ["name", "namespace", "node", "labels", "phase", "age", "containers", "initContainers"],
      where,
    );
    const podName = name(o, "name", where, DNS_SUBDOMAIN);
    const namespace = name(o, "namespace", where, DNS_LABEL, "default");
    const key = `${namespace}/${podName}`;
    if (podKeys.has(key)) fail(`${where}.name`, `duplicate pod ${key}`);
    podKeys.add(key);
    if (nodes.length === 0 && o.node === undefined)
      fail(where, "no node to place the pod on: add nodes or set node");
    const nodeName = str(o, "node", where, nodes[i % Math.max(nodes.length, 1)]?.name);
    if (!nodeNames.has(nodeName)) fail(`${where}.node`, `unknown node ${JSON.stringify(nodeName)}`);
    const phase = str(o, "phase", where, "Running") as PodPhase;
    if (!PHASES.includes(phase))
      fail(`${where}.phase`, `want one of ${PHASES.join(", ")}, got ${JSON.stringify(phase)}`);
    const startTimeMs = now - duration(o, "age", where, 30 * MINUTE);
    const containers = asList(o.containers, `${where}.containers`).map((c, j) => {
      const { sidecar: _, ...plain } = parseContainer(
        c,
        `${where}.containers[${j}]`,
        startTimeMs + 2000,
        false,
      );
      return plain;
    });
    if (containers.length === 0) fail(`${where}.containers`, "a pod needs at least one container");
    const initContainers = asList(o.initContainers, `${where}.initContainers`).map((c, j) =>
      parseContainer(c, `${where}.initContainers[${j}]`, startTimeMs + 1000, true),
    );
    const seen = new Set<string>();
    for (const c of [...containers, ...initContainers]) {
      if (seen.has(c.name)) fail(where, `duplicate container name ${JSON.stringify(c.name)}`);
      seen.add(c.name);
    }
    pods.push({
      namespace,
      name: podName,
      uid: uidFor("pod", key),
      nodeName,
      labels: labels(o, where),
      phase,
      creationTimestampMs: startTimeMs - 1000,
      startTimeMs,
      containers,
      initContainers,
    });
  });
  return { nodes, pods };
}

/** Reads a YAML scenario file (schema above). Throws an Error naming the file and the problem. */
export function loadScenarioFile(path: string, opts: { ipBase: string; nowMs: number }): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`scenario file ${path}: cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`scenario file ${path}: invalid YAML: ${(err as Error).message}`);
  }
  try {
    return parseScenario(doc, opts);
  } catch (err) {
    if (err instanceof ScenarioFileError) throw new Error(`scenario file ${path}: ${err.message}`);
    throw new Error(`scenario file ${path}: ${(err as Error).message}`);
  }
}
