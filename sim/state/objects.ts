// The Kubernetes JSON of scenario nodes and pods: what the API serves for the objects the fake kubelets
// report on.

import { formatBytes, formatCpu } from "../quantity.ts";
import {
  type PodPhase,
  RESOURCE_METRICS_PATH_ANNOTATION,
  type SimContainer,
  type SimNode,
  type SimPod,
} from "../types.ts";
import type { KubeObject } from "./resources.ts";

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function podIP(uid: string): string {
  let h = 0;
  for (const ch of uid) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `10.244.${(h >>> 8) % 250}.${(h % 250) + 2}`;
}

/** The Kubernetes JSON for a scenario node. */
export function nodeToJson(n: SimNode, resourceVersion: number, nowMs: number): KubeObject {
  const capacity = {
    cpu: formatCpu(n.cpuCores * 1000),
    "ephemeral-storage": "100Gi",
    memory: formatBytes(n.memoryBytes),
    pods: "110",
  };
  const heartbeat = rfc3339(nowMs);
  const since = rfc3339(n.creationTimestampMs);
  const pressure = (type: string, reason: string, message: string) => ({
    type,
    status: "False",
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: since,
    reason,
    message,
  });
  return {
    kind: "Node",
    apiVersion: "v1",
    metadata: {
      name: n.name,
      uid: n.uid,
      resourceVersion: String(resourceVersion),
      creationTimestamp: rfc3339(n.creationTimestampMs),
      labels: { ...n.labels },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        ...(n.resourceMetricsPath ? { [RESOURCE_METRICS_PATH_ANNOTATION]: n.resourceMetricsPath } : {}),
      },
    },
    spec: {},
    status: {
      capacity,
      allocatable: { ...capacity },
      conditions: [
        pressure("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        pressure("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        pressure("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        {
          type: "Ready",
          status: n.ready ? "True" : "False",
          lastHeartbeatTime: heartbeat,
          lastTransitionTime: since,
          reason: n.ready ? "KubeletReady" : "KubeletNotReady",
          message: n.ready ? "kubelet is posting ready status" : "container runtime network not ready",
        },
      ],
      addresses: n.addresses
        ? n.addresses.map((a) => ({ ...a }))
        : [
            { type: "InternalIP", address: n.internalIP },
            { type: "Hostname", address: n.hostname },
          ],
      daemonEndpoints: { kubeletEndpoint: { Port: n.kubeletPort } },
      nodeInfo: {
        machineID: n.uid.replaceAll("-", ""),
        systemUUID: n.uid,
        bootID: n.uid,
        kernelVersion: "6.8.0-sim",
        osImage: "kube-sim Linux",
        containerRuntimeVersion: "containerd://2.0.0-sim",
        kubeletVersion: "v1.33.0-sim",
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

function containerSpec(c: SimContainer): Record<string, unknown> {
  return {
    name: c.name,
    image: "registry.k8s.io/pause:3.10",
    imagePullPolicy: "IfNotPresent",
    resources: { requests: { cpu: formatCpu(Math.max(1, c.cpuMilli)), memory: formatBytes(c.memoryBytes) } },
  };
}

function containerState(phase: PodPhase, c: SimContainer): Record<string, unknown> {
  const startedAt = rfc3339(c.startTimeMs);
  if (phase === "Running") return { running: { startedAt } };
  if (phase === "Pending") return { waiting: { reason: "ContainerCreating" } };
  const ok = phase === "Succeeded";
  return {
    terminated: {
      exitCode: ok ? 0 : 1,
      reason: ok ? "Completed" : "Error",
      startedAt,
      finishedAt: startedAt,
    },
  };
}

function containerStatus(c: SimContainer, state: Record<string, unknown>, ready: boolean, podUid: string) {
  return {
    name: c.name,
    state,
    ready,
    restartCount: c.restartCount ?? 0,
    ...(c.previousStartTimeMs === undefined
      ? {}
      : {
          lastState: {
            terminated: {
              exitCode: 137,
              reason: "Error",
              startedAt: rfc3339(c.previousStartTimeMs),
              finishedAt: rfc3339(c.startTimeMs),
            },
          },
        }),
    started: "running" in state,
    image: "registry.k8s.io/pause:3.10",
    imageID: "registry.k8s.io/pause@sha256:sim",
    containerID: `containerd://${podUid.replaceAll("-", "")}${c.name}`,
  };
}

/**
 * The Kubernetes JSON for a pod. `hostIP` is its node's InternalIP (if the node is known). A pod posted
 * through the API serves its posted metadata and spec, and the status the control plane wrote.
 */
export function podToJson(p: SimPod, resourceVersion: number, hostIP: string | undefined): KubeObject {
  const json = scenarioPodToJson(p, resourceVersion, hostIP);
  if (!p.api) return json;
  const { spec } = p.api;
  return {
    ...json,
    metadata: { ...structuredClone(p.api.metadata), ...json.metadata },
    spec: { ...structuredClone(spec), ...(p.nodeName ? { nodeName: p.nodeName } : {}) },
    status: p.api.status
      ? structuredClone(p.api.status)
      : p.nodeName
        ? json.status
        : { phase: "Pending", qosClass: "BestEffort" },
  };
}

function scenarioPodToJson(p: SimPod, resourceVersion: number, hostIP: string | undefined): KubeObject {
  const running = p.phase === "Running";
  const scheduled = rfc3339(p.creationTimestampMs);
  const cond = (type: string, ok: boolean) => ({
    type,
    status: ok ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: scheduled,
  });
  const initDone = p.phase !== "Pending";
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      resourceVersion: String(resourceVersion),
      creationTimestamp: rfc3339(p.creationTimestampMs),
      labels: { ...p.labels },
    },
    spec: {
      ...(p.initContainers.length > 0
        ? {
            initContainers: p.initContainers.map((c) => ({
              ...containerSpec(c),
              ...(c.sidecar ? { restartPolicy: "Always" } : {}),
            })),
          }
        : {}),
      containers: p.containers.map(containerSpec),
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      nodeName: p.nodeName,
      schedulerName: "default-scheduler",
    },
    status: {
      phase: p.phase,
      conditions: [
        cond("PodReadyToStartContainers", p.phase !== "Pending"),
        cond("Initialized", initDone),
        cond("Ready", running),
        cond("ContainersReady", running),
        cond("PodScheduled", true),
      ],
      ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
      podIP: podIP(p.uid),
      podIPs: [{ ip: podIP(p.uid) }],
      startTime: rfc3339(p.startTimeMs),
      ...(p.initContainers.length > 0
        ? {
            initContainerStatuses: p.initContainers.map((c) => {
              const state =
                c.sidecar && running
                  ? { running: { startedAt: rfc3339(c.startTimeMs) } }
                  : initDone
                    ? {
                        terminated: {
                          exitCode: 0,
                          reason: "Completed",
                          startedAt: rfc3339(c.startTimeMs),
                          finishedAt: rfc3339(c.startTimeMs),
                        },
                      }
                    : { waiting: { reason: "PodInitializing" } };
              return containerStatus(c, state, c.sidecar ? running : initDone, p.uid);
            }),
          }
        : {}),
      containerStatuses: p.containers.map((c) =>
        containerStatus(c, containerState(p.phase, c), running, p.uid),
      ),
      qosClass: "Burstable",
    },
  };
}
