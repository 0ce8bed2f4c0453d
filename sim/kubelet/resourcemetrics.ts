// The /metrics/resource body (Prometheus text format 0.0.4), written from the node's precomputed layout.

import type { SimNode, SimPod } from "../types.ts";
import { ByteWriter } from "./body.ts";
import { formatGoFloat } from "./promtext.ts";
import { type NodeCounterState, nodeUsage, OP_NODE_CPU, OP_STAMP, OP_TEXT } from "./usage.ts";

export const RESOURCE_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";

/**
 * Writes the /metrics/resource body for `node` at nowMs (ms; every sample stamped with it) into `out`:
 * the kubelet 1.33 families plus `container_swap_usage_bytes` for every reported container, as a
 * 1.34+ Linux kubelet writes it (0 when the container uses no swap). Everything but the CPU counters
 * and the timestamp comes precomputed from the node's layout.
 */
export function writeResourceMetrics(
  out: ByteWriter,
  node: SimNode,
  pods: readonly SimPod[],
  nowMs: number,
  state?: NodeCounterState,
): void {
  const t = Math.floor(nowMs);
  const usage = nodeUsage(node, pods, t, state);
  const { text, ops } = usage.layout.template;
  const containerCpu = usage.containerCpuSeconds;
  const podCpu = usage.podCpuSeconds;
  const containerCount = containerCpu.length;
  const stamp = ` ${t}\n`;
  let from = 0;
  for (let i = 0; i < ops.length; i += 2) {
    const end = ops[i];
    out.range(text, from, end);
    from = end;
    const value = ops[i + 1];
    if (value === OP_TEXT) continue;
    if (value !== OP_STAMP) {
      const seconds =
        value === OP_NODE_CPU
          ? usage.cpuSeconds
          : value < containerCount
            ? containerCpu[value]
            : podCpu[value - containerCount];
      out.ascii(formatGoFloat(seconds));
    }
    out.ascii(stamp);
  }
}

/** The /metrics/resource body as a string (see writeResourceMetrics). */
export function renderResourceMetrics(
  node: SimNode,
  pods: readonly SimPod[],
  nowMs: number,
  state?: NodeCounterState,
): string {
  stringScratch.reset();
  writeResourceMetrics(stringScratch, node, pods, nowMs, state);
  return stringScratch.toString();
}

const stringScratch = new ByteWriter();
