// The simulator's fault control (/sim/faults) for end-to-end tests and the soak: set or clear a
// kubelet's fault, read what is set, and the list of kubelet fault kinds to iterate over. Talks to the
// simulator over its HTTPS API with the admin credentials of its kubeconfig, like kubectl would.
import { apiRequest, readAdminCredentials } from "../../scripts/cluster.ts";

/** Anything that knows the simulator's kubeconfig (a test Cluster does). */
export interface SimHandle {
  kubeconfig: string;
}

/** GET /sim/faults: each faulty node's SPEC (canonical form, e.g. "status:500"), and the API server's. */
export interface SimFaults {
  nodes: Record<string, string>;
  apiserver: Record<string, unknown>;
}

async function faultsRequest(sim: SimHandle, method: "GET" | "POST", body?: unknown): Promise<SimFaults> {
  const r = await apiRequest(readAdminCredentials(sim.kubeconfig), method, "/sim/faults", body);
  if (r.status !== 200) throw new Error(`${method} /sim/faults: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as SimFaults;
}

/** Sets node's kubelet fault (a SPEC such as "hang" or "delay:5s"), or clears it with null. */
export function setFault(sim: SimHandle, node: string, spec: string | null): Promise<SimFaults> {
  return faultsRequest(sim, "POST", { node, fault: spec });
}

export function getFaults(sim: SimHandle): Promise<SimFaults> {
  return faultsRequest(sim, "GET");
}

/**
 * What the issue asks a correct metrics-server to serve while a fault is set:
 * - "no-node": nothing for the node nor its pods (the scrape fails or its body is not to be trusted);
 * - "no-targets": nothing for the node nor its first running pod (namespace/name order), whose series
 *   the fault breaks; the node's other pods with correct values;
 * - "correct": the node and its pods with correct values (a reset counter costs at most one window);
 * - "approximate": served, but only as exact as the server's own clock allows: without timestamps
 *   the time a request was sent stands in for the sample's, so request latency skews the rate;
 * - "while-ready": correct values while the Node is Ready, nothing while it is not (NotReady nodes
 *   are not scraped);
 * - "while-present": correct values while the Node object exists, nothing while it is deleted.
 */
export type FaultExpectation =
  | "no-node"
  | "no-targets"
  | "correct"
  | "approximate"
  | "while-ready"
  | "while-present";

export interface KubeletFaultKind {
  kind: string;
  /** A SPEC to set it with (durations short enough for tests with a few seconds' resolution). */
  spec: string;
  expect: FaultExpectation;
}

/** Every kubelet fault kind of the simulator (its --help lists them), with a sample SPEC. */
export const KUBELET_FAULT_KINDS: readonly KubeletFaultKind[] = [
  { kind: "hang", spec: "hang", expect: "no-node" },
  // Well inside any resolution the tests use: the data arrives, late.
  { kind: "delay", spec: "delay:1s", expect: "correct" },
  { kind: "reset", spec: "reset", expect: "no-node" },
  { kind: "refuse", spec: "refuse", expect: "no-node" },
  { kind: "status:401", spec: "status:401", expect: "no-node" },
  { kind: "status:403", spec: "status:403", expect: "no-node" },
  { kind: "status:404", spec: "status:404", expect: "no-node" },
  { kind: "status:500", spec: "status:500", expect: "no-node" },
  { kind: "status:503", spec: "status:503", expect: "no-node" },
  { kind: "truncated", spec: "truncated", expect: "no-node" },
  { kind: "garbage", spec: "garbage", expect: "no-node" },
  { kind: "huge", spec: "huge", expect: "no-node" },
  { kind: "nan", spec: "nan", expect: "no-targets" },
  { kind: "inf", spec: "inf", expect: "no-targets" },
  { kind: "negative", spec: "negative", expect: "no-targets" },
  { kind: "absurd-cpu", spec: "absurd-cpu", expect: "no-targets" },
  { kind: "absurd-memory", spec: "absurd-memory", expect: "no-targets" },
  { kind: "counter-reset", spec: "counter-reset", expect: "correct" },
  { kind: "duplicate-series", spec: "duplicate-series", expect: "no-targets" },
  { kind: "no-timestamp", spec: "no-timestamp", expect: "approximate" },
  { kind: "future-timestamp", spec: "future-timestamp", expect: "no-node" },
  { kind: "backwards-timestamp", spec: "backwards-timestamp", expect: "no-node" },
  { kind: "missing-families", spec: "missing-families", expect: "no-node" },
  { kind: "zero-cpu", spec: "zero-cpu", expect: "no-targets" },
  { kind: "zero-memory", spec: "zero-memory", expect: "no-targets" },
  { kind: "flap", spec: "flap:10s", expect: "while-ready" },
  { kind: "not-ready", spec: "not-ready", expect: "while-ready" },
  { kind: "delete-mid-scrape", spec: "delete-mid-scrape:5s", expect: "while-present" },
  { kind: "tls-expired", spec: "tls-expired", expect: "no-node" },
  { kind: "wrong-ca", spec: "wrong-ca", expect: "no-node" },
  { kind: "wrong-name", spec: "wrong-name", expect: "no-node" },
];
