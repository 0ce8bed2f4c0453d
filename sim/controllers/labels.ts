// The pieces of Kubernetes object reading the controllers share: label selectors (matchLabels and
// matchExpressions), owner references, pod readiness, and the random suffixes kube's names use.

import { randomInt } from "node:crypto";
import type { KubeObject } from "../state/index.ts";

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function records(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

/**
 * Whether `labels` match a metav1.LabelSelector. An empty selector matches everything; an absent one
 * (undefined) nothing, as for Deployments and affinity terms.
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isRecord(selector)) return false;
  for (const [k, v] of Object.entries(stringMap(selector.matchLabels))) if (labels[k] !== v) return false;
  for (const e of records(selector.matchExpressions)) {
    const key = String(e.key);
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    const has = Object.hasOwn(labels, key);
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(labels[key])) return false;
        break;
      case "NotIn":
        if (has && values.includes(labels[key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service's spec.selector: a plain map that must match exactly (empty = no selector). */
export function mapSelectorMatches(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function ownerUid(o: KubeObject): string | undefined {
  const ref = records(o.metadata.ownerReferences).find((r) => r.controller === true);
  return typeof ref?.uid === "string" ? ref.uid : undefined;
}

function condition(o: KubeObject, type: string): Record<string, unknown> | undefined {
  const status = isRecord(o.status) ? o.status : {};
  return records(status.conditions).find((c) => c.type === type);
}

export function podReady(pod: KubeObject): boolean {
  return condition(pod, "Ready")?.status === "True";
}

export function podIP(pod: KubeObject): string | undefined {
  const status = isRecord(pod.status) ? pod.status : {};
  return typeof status.podIP === "string" && status.podIP !== "" ? status.podIP : undefined;
}

export function podPhase(pod: KubeObject): string {
  const status = isRecord(pod.status) ? pod.status : {};
  return typeof status.phase === "string" ? status.phase : "Pending";
}

// The alphabet of kube's generated name suffixes and hashes (k8s.io/apimachinery/pkg/util/rand):
// no vowels, so no words.
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

export function randomSuffix(length = 5): string {
  let s = "";
  for (let i = 0; i < length; i++) s += ALPHANUMS[randomInt(ALPHANUMS.length)];
  return s;
}

/** A stable short hash of `value`'s JSON in the suffix alphabet (FNV-1a, 32 bits), like pod-template-hash. */
export function safeHash(value: unknown): string {
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(value)) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let s = "";
  for (let i = 0; i < 10 && (h > 0 || i === 0); i++) {
    s += ALPHANUMS[h % ALPHANUMS.length];
    h = Math.floor(h / ALPHANUMS.length);
  }
  return s;
}
