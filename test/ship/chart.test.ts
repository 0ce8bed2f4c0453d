// The Helm chart under charts/metrics-server: `helm lint --strict` and `helm template` of the
// defaults and every ci/ values file, each object validated against its OpenAPI schema, the same
// safety properties as deploy/, the same RBAC and args as the kustomize base, the TLS choices
// (docs/deploy.md), and renders that cannot work failing with a message.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { deflateRawSync } from "node:zlib";
import { helmBinary, unzipEntry } from "../../scripts/helm.ts";
import {
  chartDir,
  containersOf,
  helmBin,
  type K8sObject,
  kubectlBin,
  lintChart,
  only,
  parseObjects,
  permissions,
  renderChart,
  renderKustomize,
  safetyViolations,
  serverArgsErrors,
  validateObjects,
} from "../support/manifests.ts";
import { tempDir } from "../support/paths.ts";
import { run } from "../support/processes.ts";

const METRICS_APISERVICE = "v1beta1.metrics.k8s.io";
const DIAGNOSTICS_APISERVICE = "v1alpha1.diagnostics.metrics-server.x-k8s.io";

/** The diagnostics group's APIService is the metrics API's twin: same Service, TLS and annotations. */
function assertDiagnosticsTwin(objects: K8sObject[]): void {
  const metrics = only(objects, "APIService", METRICS_APISERVICE);
  const diagnostics = only(objects, "APIService", DIAGNOSTICS_APISERVICE);
  assert.deepEqual(
    [diagnostics.spec.group, diagnostics.spec.version],
    ["diagnostics.metrics-server.x-k8s.io", "v1alpha1"],
  );
  const rest = (a: K8sObject) => ({ ...a.spec, group: undefined, version: undefined });
  assert.deepEqual(rest(diagnostics), rest(metrics));
  assert.deepEqual(diagnostics.metadata.annotations, metrics.metadata.annotations);
}

const CI_FILES = readdirSync(join(chartDir, "ci")).filter((f) => f.endsWith(".yaml"));

async function template(
  t: Parameters<typeof helmBin>[0],
  files: string[] = [],
  sets: Record<string, string | number | boolean> = {},
): Promise<K8sObject[] | undefined> {
  if (!(await helmBin(t))) return undefined;
  return parseObjects(await renderChart(files, sets));
}

function server(objects: K8sObject[]): K8sObject {
  return containersOf(objects).find((c) => c.name === "metrics-server")!;
}

describe("charts/metrics-server", () => {
  test("the ci/ values files cover the cases the chart promises", () => {
    for (const name of [
      "default",
      "ha",
      "tls-helm",
      "tls-cert-manager",
      "tls-existingSecret",
      "autoscale",
      "metrics",
    ]) {
      assert.ok(CI_FILES.includes(`${name}-values.yaml`), `ci/${name}-values.yaml`);
    }
  });

  test("scripts/helm.ts: concurrent callers share one Helm 4 binary", async (t) => {
    if (!(await helmBin(t))) return;
    const paths = await Promise.all([helmBinary(), helmBinary(), helmBinary()]);
    assert.equal(new Set(paths).size, 1);
    const result = await run(paths[0]!, ["version", "--short"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^v4\./);
  });

  test("scripts/helm.ts: unzipEntry reads stored and deflated entries and names what is wrong", () => {
    const text = Buffer.from("helm binary stand-in ".repeat(50));
    const zip = makeZip([
      { name: "kubectl/kubectl", data: Buffer.from("other"), deflate: false },
      { name: "helm/helm", data: text, deflate: true },
    ]);
    assert.deepEqual(unzipEntry(zip, "helm/helm"), text);
    assert.deepEqual(unzipEntry(zip, "kubectl/kubectl"), Buffer.from("other"));
    assert.throws(() => unzipEntry(zip, "helm/missing"), /zip archive has no entry helm\/missing/);
    assert.throws(() => unzipEntry(Buffer.from("not a zip"), "helm/helm"), /not a zip archive/);
  });

  for (const file of [undefined, ...CI_FILES.map((f) => `ci/${f}`)]) {
    test(`helm lint --strict ${file ?? "(defaults)"}`, async (t) => {
      if (!(await helmBin(t))) return;
      const out = await lintChart(file);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/);
    });
  }

  for (const file of CI_FILES) {
    test(`helm template ci/${file}: validates and keeps the safety properties`, async (t) => {
      const objects = await template(t, [`ci/${file}`]);
      if (!objects) return;
      await validateObjects(objects);
      assert.deepEqual(safetyViolations(objects), []);
      assert.deepEqual(serverArgsErrors(objects), []);
      assert.deepEqual(
        objects
          .filter((o) => o.kind === "APIService")
          .map((o) => o.metadata.name)
          .sort(),
        [DIAGNOSTICS_APISERVICE, METRICS_APISERVICE],
      );
      assertDiagnosticsTwin(objects);
      const deployment = only(objects, "Deployment");
      const selector = deployment.spec.selector.matchLabels;
      for (const [k, v] of Object.entries(selector))
        assert.equal(deployment.spec.template.metadata.labels[k], v);
      assert.deepEqual(only(objects, "Service").spec.selector, selector);
    });
  }

  for (const [values, components] of [
    [{}, ["components/secure-apiservice"]],
    [{ "apiService.insecureSkipTLSVerify": true }, []],
  ] as const) {
    test(`the chart with ${JSON.stringify(values)} means the base with ${JSON.stringify(components)}: same RBAC, args, probes, hardening, requests`, async (t) => {
      if (!kubectlBin(t)) return;
      const chart = await template(t, [], values);
      if (!chart) return;
      const base = parseObjects(await renderKustomize("base", { components: [...components] }));
      // Role names carry the release's name in the chart; compare each kind's grants and role refs.
      const grants = (objects: K8sObject[]): string[] =>
        objects
          .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
          .map((o) => `${o.kind}: ${permissions(o.rules).join(", ")}`)
          .sort();
      assert.deepEqual(grants(chart), grants(base));
      const refs = (objects: K8sObject[]): string[] =>
        objects
          .filter((o) => o.kind.endsWith("Binding"))
          .map((b) => {
            const role = objects.find((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name);
            const target = role
              ? `${role.kind}: ${permissions(role.rules).join(", ")}`
              : `${b.roleRef.kind} ${b.roleRef.name}`;
            return `${b.kind} ${b.metadata.namespace ?? ""} -> ${target} for ${JSON.stringify(b.subjects)}`;
          })
          .sort();
      assert.deepEqual(refs(chart), refs(base));
      const [c, k] = [server(chart), server(base)];
      assert.deepEqual([...c.args].sort(), [...k.args].sort());
      for (const field of [
        "image",
        "imagePullPolicy",
        "ports",
        "readinessProbe",
        "livenessProbe",
        "securityContext",
        "resources",
      ]) {
        assert.deepEqual(c[field], k[field], field);
      }
      const [cd, kd] = [only(chart, "Deployment").spec, only(base, "Deployment").spec];
      assert.deepEqual(cd.strategy.rollingUpdate, kd.strategy.rollingUpdate);
      for (const field of ["priorityClassName", "nodeSelector", "serviceAccountName"]) {
        assert.deepEqual(cd.template.spec[field], kd.template.spec[field], field);
      }
      assert.deepEqual(
        only(chart, "APIService", METRICS_APISERVICE).spec.insecureSkipTLSVerify,
        only(base, "APIService", METRICS_APISERVICE).spec.insecureSkipTLSVerify,
      );
      assert.deepEqual(
        only(chart, "Service").spec.ports[0].targetPort,
        only(base, "Service").spec.ports[0].targetPort,
      );
    });
  }

  test("ha: two replicas replace one at a time, with a policy/v1 PDB", async (t) => {
    const objects = await template(t, ["ci/ha-values.yaml"]);
    if (!objects) return;
    const deployment = only(objects, "Deployment");
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 1);
    const pdb = only(objects, "PodDisruptionBudget");
    assert.equal(pdb.apiVersion, "policy/v1");
    assert.equal(pdb.spec.minAvailable, 1);
  });

  test("tls.type helm: the APIService trusts the CA that signed the mounted certificate", async (t) => {
    const objects = await template(t, ["ci/tls-helm-values.yaml"]);
    if (!objects) return;
    const apiService = only(objects, "APIService", METRICS_APISERVICE);
    assert.equal(apiService.spec.insecureSkipTLSVerify, undefined);
    const secret = only(objects, "Secret");
    assert.equal(secret.type, "kubernetes.io/tls");
    const pem = (b64: string): X509Certificate => new X509Certificate(Buffer.from(b64, "base64"));
    const ca = pem(apiService.spec.caBundle);
    const cert = pem(secret.data["tls.crt"]);
    assert.ok(
      cert.checkIssued(ca) && cert.verify(ca.publicKey),
      "the serving certificate is signed by the caBundle",
    );
    assert.equal(cert.checkHost("metrics-server.kube-system.svc"), "metrics-server.kube-system.svc");
    assert.equal(secret.data["ca.crt"], apiService.spec.caBundle);
    assertMountedTls(objects, secret.metadata.name);
  });

  test("tls.type cert-manager: Issuer and Certificate, the CA injected into the APIService", async (t) => {
    const objects = await template(t, ["ci/tls-cert-manager-values.yaml"]);
    if (!objects) return;
    const apiService = only(objects, "APIService", METRICS_APISERVICE);
    assert.equal(apiService.spec.insecureSkipTLSVerify, undefined);
    const certificate = only(objects, "Certificate");
    assert.equal(
      apiService.metadata.annotations["cert-manager.io/inject-ca-from"],
      "kube-system/metrics-server",
    );
    assert.equal(certificate.spec.issuerRef.name, only(objects, "Issuer").metadata.name);
    assert.ok(certificate.spec.dnsNames.includes("metrics-server.kube-system.svc"));
    assertMountedTls(objects, certificate.spec.secretName);
  });

  test("tls.type existingSecret: that Secret mounted, the given CA in the APIService", async (t) => {
    const objects = await template(t, ["ci/tls-existingSecret-values.yaml"]);
    if (!objects) return;
    const apiService = only(objects, "APIService", METRICS_APISERVICE);
    assert.equal(apiService.spec.insecureSkipTLSVerify, undefined);
    assert.match(Buffer.from(apiService.spec.caBundle, "base64").toString(), /^-----BEGIN CERTIFICATE-----/);
    assertMountedTls(objects, "metrics-server-existing");
    assert.equal(objects.filter((o) => o.kind === "Secret").length, 0, "the chart creates no Secret");
  });

  test("the default: the server's own certificate, verified: it manages the caBundle", async (t) => {
    const objects = await template(t);
    if (!objects) return;
    const apiService = only(objects, "APIService", METRICS_APISERVICE);
    assert.equal(apiService.spec.insecureSkipTLSVerify, undefined);
    assert.equal(apiService.spec.caBundle, undefined);
    assert.ok(server(objects).args.includes("--manage-apiservice-ca-bundle"));
    const role = only(objects, "ClusterRole", "system:metrics-server-apiservice-ca");
    assert.deepEqual(permissions(role.rules), [
      "apiregistration.k8s.io apiservices/v1alpha1.diagnostics.metrics-server.x-k8s.io get",
      "apiregistration.k8s.io apiservices/v1alpha1.diagnostics.metrics-server.x-k8s.io update",
      "apiregistration.k8s.io apiservices/v1beta1.metrics.k8s.io get",
      "apiregistration.k8s.io apiservices/v1beta1.metrics.k8s.io update",
    ]);
    const insecure = await template(t, ["ci/insecure-values.yaml"]);
    assert.ok(!server(insecure!).args.includes("--manage-apiservice-ca-bundle"));
    assert.equal(only(insecure!, "APIService", METRICS_APISERVICE).spec.insecureSkipTLSVerify, true);
  });

  test("diagnostics: on by default (APIService, reader role aggregated to view/edit/admin); off leaves them out", async (t) => {
    const objects = await template(t);
    if (!objects) return;
    assertDiagnosticsTwin(objects);
    const reader = only(objects, "ClusterRole", "system:metrics-server-diagnostics-reader");
    for (const to of ["view", "edit", "admin"]) {
      assert.equal(reader.metadata.labels[`rbac.authorization.k8s.io/aggregate-to-${to}`], "true");
    }
    assert.deepEqual(permissions(reader.rules), [
      "diagnostics.metrics-server.x-k8s.io nodescrapes get",
      "diagnostics.metrics-server.x-k8s.io nodescrapes list",
      "diagnostics.metrics-server.x-k8s.io serverstatuses get",
      "diagnostics.metrics-server.x-k8s.io serverstatuses list",
    ]);
    const off = await template(t, [], { "diagnostics.enabled": false });
    await validateObjects(off!);
    assert.deepEqual(
      off!
        .filter((o) => JSON.stringify(o).includes("diagnostics"))
        .map((o) => `${o.kind}/${o.metadata.name}`),
      [],
    );
    assert.deepEqual(permissions(only(off!, "ClusterRole", "system:metrics-server-apiservice-ca").rules), [
      "apiregistration.k8s.io apiservices/v1beta1.metrics.k8s.io get",
      "apiregistration.k8s.io apiservices/v1beta1.metrics.k8s.io update",
    ]);
  });

  test("autoscale: the nanny's figures are deploy/components/autoscale's", async (t) => {
    if (!kubectlBin(t)) return;
    const objects = await template(t, ["ci/autoscale-values.yaml"]);
    if (!objects) return;
    const kustomized = parseObjects(await renderKustomize("base", { components: ["components/autoscale"] }));
    const nanny = (o: K8sObject[]): K8sObject =>
      containersOf(o).find((c) => c.name === "metrics-server-nanny")!;
    assert.deepEqual(nanny(objects).command, nanny(kustomized).command);
    for (const field of ["image", "resources", "securityContext", "env"]) {
      assert.deepEqual(nanny(objects)[field], nanny(kustomized)[field], field);
    }
    const grants = (o: K8sObject[], name: RegExp): string[] =>
      o
        .filter((r) => (r.kind === "Role" || r.kind === "ClusterRole") && name.test(r.metadata.name))
        .flatMap((r) => permissions(r.rules));
    assert.deepEqual(grants(objects, /nanny/).sort(), grants(kustomized, /nanny/).sort());
  });

  test("metrics + serviceMonitor: /metrics open to Prometheus, a valid ServiceMonitor", async (t) => {
    const objects = await template(t, ["ci/metrics-values.yaml"]);
    if (!objects) return;
    assert.ok(
      server(objects).args.includes("--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics"),
    );
    const monitor = only(objects, "ServiceMonitor");
    assert.equal(monitor.spec.endpoints[0].port, "https");
    assert.equal(monitor.metadata.labels.release, "prometheus");
  });

  test("NOTES.txt tells how to check the install, with the release's names", async (t) => {
    const helm = await helmBin(t);
    if (!helm) return;
    const args = ["install", "ms", chartDir, "--namespace", "monitoring", "--dry-run=client", "--values"];
    const result = await run(helm, [...args, join(chartDir, "ci/tls-helm-values.yaml")]);
    assert.equal(result.code, 0, result.stderr);
    const notes = result.stdout.slice(result.stdout.indexOf("NOTES:"));
    assert.match(notes, /kubectl -n monitoring rollout status deployment\/ms-metrics-server/);
    assert.match(notes, /kubectl get apiservice v1beta1.metrics.k8s.io/);
    assert.match(notes, /kubectl top nodes/);
    assert.match(notes, /kubectl get nodescrapes/);
    assert.doesNotMatch(notes, /does not verify/, "tls.type helm verifies");
  });

  test("the schema rejects typos and unknown values", async (t) => {
    if (!(await helmBin(t))) return;
    const typo = join(tempDir(t, "chart-values-"), "typo.yaml");
    writeFileSync(typo, "replica: 2\n");
    await assert.rejects(renderChart([typo]), /additional properties 'replica' not allowed/);
    await assert.rejects(renderChart([], { "tls.typ": "helm" }), /additional properties 'typ' not allowed/);
    await assert.rejects(renderChart([], { "tls.type": "self-signed" }), /\/tls\/type/);
    await assert.rejects(renderChart([], { "image.tag": "latest" }), /\/image\/tag/);
    await assert.rejects(renderChart([], { replicas: "two" }), /\/replicas/);
  });

  test("combinations that cannot work fail the render with a message naming the values", async (t) => {
    if (!(await helmBin(t))) return;
    const cases: [
      Record<string, string | number | boolean>,
      RegExp,
      { release?: string; namespace?: string }?,
    ][] = [
      [{ replicas: 2 }, /needs replicas: 1: each replica signs its own CA/],
      [
        { "apiService.insecureSkipTLSVerify": false },
        /needs the name metrics-server in kube-system \(got ms-metrics-server in kube-system\)/,
        { release: "ms" },
      ],
      [
        { "apiService.insecureSkipTLSVerify": false },
        /\(got metrics-server in monitoring\)/,
        { namespace: "monitoring" },
      ],
      [{ "tls.type": "existingSecret" }, /tls.type=existingSecret needs tls.existingSecret.name/],
      [
        {
          "tls.type": "existingSecret",
          "tls.existingSecret.name": "mine",
          "apiService.insecureSkipTLSVerify": false,
        },
        /needs a CA: set apiService.caBundle/,
      ],
      [{ "serviceMonitor.enabled": true }, /serviceMonitor.enabled needs metrics.enabled/],
      [
        { "addonResizer.enabled": true, replicas: 2, "tls.type": "helm" },
        /addonResizer.enabled needs replicas: 1/,
      ],
      [{ "hostNetwork.enabled": true }, /hostNetwork.enabled needs another containerPort than 10250/],
      [
        {
          "podDisruptionBudget.enabled": true,
          "podDisruptionBudget.minAvailable": 1,
          "podDisruptionBudget.maxUnavailable": 1,
        },
        /set minAvailable or maxUnavailable, not both/,
      ],
    ];
    for (const [sets, message, opts] of cases) {
      await assert.rejects(renderChart([], sets, opts), message, JSON.stringify(sets));
    }
    // The same values with tls.type helm work for two replicas.
    const objects = parseObjects(
      await renderChart([], {
        replicas: 2,
        "tls.type": "helm",
        "apiService.insecureSkipTLSVerify": false,
      }),
    );
    assert.equal(only(objects, "Deployment").spec.replicas, 2);
  });

  test("another release name and namespace name every object and reference consistently", async (t) => {
    if (!(await helmBin(t))) return;
    const objects = parseObjects(
      await renderChart(["ci/tls-helm-values.yaml"], {}, { release: "ms", namespace: "monitoring" }),
    );
    await validateObjects(objects);
    const deployment = only(objects, "Deployment", "ms-metrics-server");
    assert.equal(deployment.metadata.namespace, "monitoring");
    assert.deepEqual(only(objects, "APIService", METRICS_APISERVICE).spec.service, {
      name: "ms-metrics-server",
      namespace: "monitoring",
      port: 443,
    });
    const secret = only(objects, "Secret");
    const cert = new X509Certificate(Buffer.from(secret.data["tls.crt"], "base64"));
    assert.equal(cert.checkHost("ms-metrics-server.monitoring.svc"), "ms-metrics-server.monitoring.svc");
    for (const b of objects.filter((o) => o.kind.endsWith("Binding"))) {
      assert.deepEqual(b.subjects, [
        { kind: "ServiceAccount", name: "ms-metrics-server", namespace: "monitoring" },
      ]);
    }
    // The auth reader binding must live where the Role does.
    assert.equal(
      only(objects, "RoleBinding", "ms-metrics-server-auth-reader").metadata.namespace,
      "kube-system",
    );
  });
});

/** The Secret is a volume of the Deployment, mounted read-only where the TLS flags point. */
function assertMountedTls(objects: K8sObject[], secretName: string): void {
  const pod = only(objects, "Deployment").spec.template.spec;
  const volume = pod.volumes.find((v: K8sObject) => v.secret?.secretName === secretName);
  assert.ok(volume, `Secret ${secretName} is a volume`);
  const c = server(objects);
  const mount = c.volumeMounts.find((m: K8sObject) => m.name === volume.name);
  assert.equal(mount.readOnly, true);
  assert.ok(c.args.includes(`--tls-cert-file=${mount.mountPath}/tls.crt`));
  assert.ok(c.args.includes(`--tls-private-key-file=${mount.mountPath}/tls.key`));
}

/** A minimal zip archive (local headers, central directory, end record), as zip tools write it. */
function makeZip(entries: { name: string; data: Buffer; deflate: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
