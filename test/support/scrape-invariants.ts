// What every NodeScrape a decoder returns must satisfy, whatever the kubelet sent: the fuzz tests'
// "never wrong" check.
import assert from "node:assert/strict";
import type { NodeScrape } from "../../src/storage/index.ts";

function finiteAtLeastZero(v: number, what: string): void {
  assert.ok(Number.isFinite(v) && v >= 0, `${what} is ${v}`);
}

/** A swap figure: unknown (NaN or absent) or a finite byte count ≥ 0. */
function swapFigure(v: number | undefined, what: string): void {
  if (v === undefined || Number.isNaN(v)) return;
  finiteAtLeastZero(v, what);
}

/**
 * Every number finite and ≥ 0 (a remainder finite, with counter + remainder ≥ 0); the node point
 * complete (time, cpu and memory > 0) or all zero; every container complete; the columns as long as
 * containerCount.
 */
export function assertSaneScrape(s: NodeScrape): void {
  const node = [s.nodeTimestampMs, s.nodeCpuNs, s.nodeMemoryBytes];
  for (const [k, v] of node.entries()) finiteAtLeastZero(v, `node field ${k}`);
  assert.ok(node.every((v) => v > 0) || node.every((v) => v === 0), `node point ${node}`);
  finiteAtLeastZero(s.nodeStartTimeMs, "node start time");
  if (s.nodeCpuNsRemainder !== undefined) {
    assert.ok(Number.isInteger(s.nodeCpuNsRemainder), "node remainder");
    assert.ok(s.nodeCpuNs + s.nodeCpuNsRemainder >= 0, "node counter");
  }
  swapFigure(s.nodeSwapBytes, "node swap");
  const n = s.containerCount;
  for (const column of [
    s.namespaces,
    s.pods,
    s.containers,
    s.startTimeMs,
    s.timestampMs,
    s.cpuNs,
    s.memoryBytes,
  ])
    assert.equal(column.length, n);
  if (s.cpuNsRemainder) assert.equal(s.cpuNsRemainder.length, n);
  if (s.swapBytes) assert.equal(s.swapBytes.length, n);
  for (let i = 0; i < n; i++) {
    const what = `container ${s.namespaces[i]}/${s.pods[i]}/${s.containers[i]}`;
    for (const v of [s.timestampMs[i], s.cpuNs[i], s.memoryBytes[i]]) {
      finiteAtLeastZero(v, what);
      assert.ok(v > 0, `${what}: an incomplete container is served`);
    }
    finiteAtLeastZero(s.startTimeMs[i], `${what} start time`);
    if (s.cpuNsRemainder) {
      assert.ok(Number.isInteger(s.cpuNsRemainder[i]), `${what} remainder`);
      assert.ok(s.cpuNs[i] + s.cpuNsRemainder[i] >= 0, `${what} counter`);
    }
    swapFigure(s.swapBytes?.[i], `${what} swap`);
  }
}
