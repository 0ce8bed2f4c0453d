// What the decoders leave out, reported with the container at fault and a fixed cause.
import assert from "node:assert/strict";
import { test } from "node:test";
import { captureLogs } from "../../../test/support/logs.ts";
import { MAX_LEFT_OUT_PER_NODE } from "../../storage/index.ts";
import { decodeResourceMetrics } from "./resource.ts";
import { decodeSummary } from "./summary.ts";

const same = (s: string): string => s;
const TS = 1732741798478;

function series(family: string, pod: string, container: string, value: number): string {
  return `${family}{container="${container}",namespace="ns",pod="${pod}"} ${value} ${TS}\n`;
}
const cpu = (pod: string, c: string, v: number) => series("container_cpu_usage_seconds_total", pod, c, v);
const mem = (pod: string, c: string, v: number) => series("container_memory_working_set_bytes", pod, c, v);

test("resource: zero, missing and conflicting values, each pod once with its first container at fault", (t) => {
  captureLogs(t);
  const body =
    cpu("ok", "a", 1) +
    mem("ok", "a", 10) +
    // cpu 0 in b, memory missing in c: the pod is left out for b, its first container at fault.
    cpu("two", "b", 0) +
    mem("two", "b", 10) +
    cpu("two", "c", 1) +
    mem("nocpu", "a", 10) +
    cpu("zeromem", "a", 1) +
    mem("zeromem", "a", 0) +
    cpu("nomem", "a", 1) +
    cpu("twice", "a", 1) +
    cpu("twice", "a", 2) +
    mem("twice", "a", 10);
  const s = decodeResourceMetrics(Buffer.from(body), "n", TS, same);
  assert.equal(s.containerCount, 1);
  assert.equal(s.leftOutCount, 5);
  assert.deepEqual(s.leftOut, [
    { namespace: "ns", pod: "two", container: "b", cause: "cpu is 0" },
    { namespace: "ns", pod: "nocpu", container: "a", cause: "cpu is missing" },
    { namespace: "ns", pod: "zeromem", container: "a", cause: "memory is 0" },
    { namespace: "ns", pod: "nomem", container: "a", cause: "memory is missing" },
    { namespace: "ns", pod: "twice", container: "a", cause: "conflicting values" },
  ]);
});

test("resource: a healthy body has no leftOut at all", () => {
  const s = decodeResourceMetrics(Buffer.from(cpu("ok", "a", 1) + mem("ok", "a", 10)), "n", TS, same);
  assert.ok(!("leftOut" in s) && !("leftOutCount" in s));
});

test("resource: the list is capped, the count is not", (t) => {
  captureLogs(t);
  let body = "";
  for (let i = 0; i < MAX_LEFT_OUT_PER_NODE + 7; i++) body += cpu(`p${i}`, "a", 0) + mem(`p${i}`, "a", 1);
  const s = decodeResourceMetrics(Buffer.from(body), "n", TS, same);
  assert.equal(s.leftOut?.length, MAX_LEFT_OUT_PER_NODE);
  assert.equal(s.leftOutCount, MAX_LEFT_OUT_PER_NODE + 7);
});

test("summary: a missing cpu or memory is told from a zero one", (t) => {
  captureLogs(t);
  const time = "2025-05-22T18:19:05Z";
  const container = (name: string, cpuJson: string, memJson: string) =>
    `{"name":"${name}","startTime":"2025-05-20T09:13:01Z"${cpuJson}${memJson}}`;
  const cpuOf = (v: number) => `,"cpu":{"time":"${time}","usageCoreNanoSeconds":${v}}`;
  const memOf = (v: number) => `,"memory":{"time":"${time}","workingSetBytes":${v}}`;
  const pod = (name: string, c: string) =>
    `{"podRef":{"name":"${name}","namespace":"ns","uid":"u"},"containers":[${c}]}`;
  const body = `{"node":{"nodeName":"n"},"pods":[${[
    pod("ok", container("a", cpuOf(1), memOf(1))),
    pod("zerocpu", container("a", cpuOf(0), memOf(1))),
    pod("nocpu", container("a", "", memOf(1))),
    pod("zeromem", container("a", cpuOf(1), memOf(0))),
    pod("nomem", container("a", cpuOf(1), "")),
  ].join(",")}]}`;
  const s = decodeSummary(body, "n", same);
  assert.equal(s.containerCount, 1);
  assert.deepEqual(
    s.leftOut?.map((l) => `${l.pod}/${l.container}: ${l.cause}`),
    [
      "zerocpu/a: cpu is 0",
      "nocpu/a: cpu is missing",
      "zeromem/a: memory is 0",
      "nomem/a: memory is missing",
    ],
  );
});
