// The kustomize tree under deploy/: every overlay and every component renders with kubectl's
// kustomize, each object passes its OpenAPI schema, the safety properties hold, and each component
// changes what it promises (docs/deploy.md). `npm run manifests` writes the release files.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { kubectlPath } from "../support/kubectl.ts";
import {
  containersOf,
  deployDir,
  type K8sObject,
  kubectlBin,
  only,
  parseObjects,
  permissions,
  renderKustomize,
  safetyViolations,
  serverArgsErrors,
  validateObjects,
} from "../support/manifests.ts";
import { tempDir } from "../support/paths.ts";
import { run } from "../support/processes.ts";

const IMAGE = "registry.example.com/metrics-server-ts:v0.1.0";
const OVERLAYS = ["overlays/release", "overlays/release-ha", "overlays/test", "overlays/test-ha"];
const COMPONENTS = ["high-availability", "secure-apiservice", "cert-manager", "autoscale", "test"];

async function render(dir: string, components: string[] = []): Promise<K8sObject[]> {
  return parseObjects(await renderKustomize(dir, { components: components.map((c) => `components/${c}`) }));
}

function server(objects: K8sObject[]): K8sObject {
  return containersOf(objects).find((c) => c.name === "metrics-server")!;
}

describe("deploy/ (kustomize)", () => {
  for (const dir of [...OVERLAYS, ...COMPONENTS.map((c) => `base + components/${c}`)]) {
    test(`${dir}: renders, validates, keeps the safety properties`, async (t) => {
      if (!kubectlBin(t)) return;
      const objects = dir.startsWith("base + ")
        ? await render("base", [dir.slice("base + components/".length)])
        : await render(dir);
      await validateObjects(objects);
      assert.deepEqual(safetyViolations(objects), []);
      assert.deepEqual(serverArgsErrors(objects), []);
      for (const o of objects)
        assert.equal(o.metadata.labels?.["k8s-app"], "metrics-server", `${o.kind} label`);
      const deployment = only(objects, "Deployment", "metrics-server");
      assert.deepEqual(deployment.spec.selector.matchLabels, { "k8s-app": "metrics-server" });
      assert.deepEqual(only(objects, "Service").spec.selector, { "k8s-app": "metrics-server" });
    });
  }

  test("base: upstream's objects, args, probes and least-privilege RBAC", async (t) => {
    if (!kubectlBin(t)) return;
    const objects = await render("base");
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      "APIService/v1alpha1.diagnostics.metrics-server.x-k8s.io",
      "APIService/v1beta1.metrics.k8s.io",
      "ClusterRole/system:aggregated-metrics-reader",
      "ClusterRole/system:metrics-server",
      "ClusterRole/system:metrics-server-diagnostics-reader",
      "ClusterRoleBinding/metrics-server:system:auth-delegator",
      "ClusterRoleBinding/system:metrics-server",
      "Deployment/metrics-server",
      "RoleBinding/metrics-server-auth-reader",
      "Service/metrics-server",
      "ServiceAccount/metrics-server",
    ]);
    assert.deepEqual(permissions(only(objects, "ClusterRole", "system:metrics-server").rules), [
      "apiregistration.k8s.io apiservices/v1alpha1.diagnostics.metrics-server.x-k8s.io get",
      "apiregistration.k8s.io apiservices/v1beta1.metrics.k8s.io get",
      "core nodes get",
      "core nodes list",
      "core nodes watch",
      "core nodes/metrics get",
      "core nodes/stats get",
      "core pods get",
      "core pods list",
      "core pods watch",
    ]);
    const reader = only(objects, "ClusterRole", "system:aggregated-metrics-reader");
    for (const to of ["view", "edit", "admin"]) {
      assert.equal(reader.metadata.labels[`rbac.authorization.k8s.io/aggregate-to-${to}`], "true");
    }
    assert.deepEqual(permissions(reader.rules), [
      "metrics.k8s.io nodes get",
      "metrics.k8s.io nodes list",
      "metrics.k8s.io nodes watch",
      "metrics.k8s.io pods get",
      "metrics.k8s.io pods list",
      "metrics.k8s.io pods watch",
    ]);
    const diagnosticsReader = only(objects, "ClusterRole", "system:metrics-server-diagnostics-reader");
    for (const to of ["view", "edit", "admin"]) {
      assert.equal(diagnosticsReader.metadata.labels[`rbac.authorization.k8s.io/aggregate-to-${to}`], "true");
    }
    assert.deepEqual(permissions(diagnosticsReader.rules), [
      "diagnostics.metrics-server.x-k8s.io nodescrapes get",
      "diagnostics.metrics-server.x-k8s.io nodescrapes list",
      "diagnostics.metrics-server.x-k8s.io serverstatuses get",
      "diagnostics.metrics-server.x-k8s.io serverstatuses list",
    ]);
    const authReader = only(objects, "RoleBinding", "metrics-server-auth-reader");
    assert.equal(authReader.metadata.namespace, "kube-system");
    assert.deepEqual(authReader.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "extension-apiserver-authentication-reader",
    });
    assert.equal(
      only(objects, "ClusterRoleBinding", "metrics-server:system:auth-delegator").roleRef.name,
      "system:auth-delegator",
    );
    for (const b of objects.filter((o) => o.kind.endsWith("Binding"))) {
      assert.deepEqual(b.subjects, [
        { kind: "ServiceAccount", name: "metrics-server", namespace: "kube-system" },
      ]);
    }

    const service = only(objects, "Service");
    assert.deepEqual(service.spec.ports, [
      { name: "https", port: 443, protocol: "TCP", targetPort: "https", appProtocol: "https" },
    ]);
    // The diagnostics group's APIService is the metrics API's twin: same Service, same TLS.
    for (const [name, group, version] of [
      ["v1beta1.metrics.k8s.io", "metrics.k8s.io", "v1beta1"],
      ["v1alpha1.diagnostics.metrics-server.x-k8s.io", "diagnostics.metrics-server.x-k8s.io", "v1alpha1"],
    ]) {
      const apiService = only(objects, "APIService", name);
      assert.deepEqual([apiService.spec.group, apiService.spec.version], [group, version]);
      assert.equal(apiService.spec.insecureSkipTLSVerify, true);
      assert.deepEqual([apiService.spec.groupPriorityMinimum, apiService.spec.versionPriority], [100, 100]);
      assert.deepEqual(apiService.spec.service, { name: "metrics-server", namespace: "kube-system" });
    }

    const deployment = only(objects, "Deployment");
    const pod = deployment.spec.template.spec;
    assert.equal(deployment.spec.replicas, undefined);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.equal(pod.serviceAccountName, "metrics-server");
    assert.equal(pod.priorityClassName, "system-cluster-critical");
    assert.deepEqual(pod.nodeSelector, { "kubernetes.io/os": "linux" });
    assert.deepEqual(pod.volumes, [{ name: "tmp-dir", emptyDir: {} }]);
    const c = server(objects);
    assert.equal(c.image, IMAGE);
    assert.deepEqual(c.args, [
      "--cert-dir=/tmp",
      "--secure-port=10250",
      "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
      "--kubelet-use-node-status-port",
      "--metric-resolution=15s",
    ]);
    assert.deepEqual(c.ports, [{ name: "https", containerPort: 10250, protocol: "TCP" }]);
    assert.deepEqual(c.volumeMounts, [{ name: "tmp-dir", mountPath: "/tmp" }]);
    assert.deepEqual(c.readinessProbe, {
      httpGet: { path: "/readyz", port: "https", scheme: "HTTPS" },
      initialDelaySeconds: 20,
      periodSeconds: 10,
      failureThreshold: 3,
    });
    assert.deepEqual(c.livenessProbe, {
      httpGet: { path: "/livez", port: "https", scheme: "HTTPS" },
      periodSeconds: 10,
      failureThreshold: 3,
    });
    assert.equal(c.securityContext.runAsUser, 1000);
    assert.deepEqual(c.resources, { requests: { cpu: "100m", memory: "200Mi" } });
  });

  test("high-availability: two replicas on different nodes, a policy/v1 PDB", async (t) => {
    if (!kubectlBin(t)) return;
    const objects = await render("overlays/release-ha");
    const deployment = only(objects, "Deployment");
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 1);
    assert.deepEqual(
      deployment.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
      [
        {
          topologyKey: "kubernetes.io/hostname",
          namespaces: ["kube-system"],
          labelSelector: { matchLabels: { "k8s-app": "metrics-server" } },
        },
      ],
    );
    const pdb = only(objects, "PodDisruptionBudget");
    assert.equal(pdb.apiVersion, "policy/v1");
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, { "k8s-app": "metrics-server" });
  });

  test("test overlays: the simulator's args and imagePullPolicy Never, nothing else changed", async (t) => {
    if (!kubectlBin(t)) return;
    const base = server(await render("base"));
    for (const overlay of ["overlays/test", "overlays/test-ha"]) {
      const c = server(await render(overlay));
      assert.deepEqual(c.args, [...base.args, "--node-selector=metrics-server-skip!=true", "--v=2"], overlay);
      assert.equal(c.imagePullPolicy, "Never", overlay);
      assert.deepEqual({ ...c, args: base.args, imagePullPolicy: base.imagePullPolicy }, base, overlay);
    }
    assert.equal(only(await render("overlays/test-ha"), "Deployment").spec.replicas, 2);
  });

  test("secure-apiservice: verified APIServices, the server manages their CA with RBAC on those objects", async (t) => {
    if (!kubectlBin(t)) return;
    const objects = await render("base", ["secure-apiservice"]);
    const apiServices = objects.filter((o) => o.kind === "APIService");
    assert.equal(apiServices.length, 2);
    for (const a of apiServices) assert.equal("insecureSkipTLSVerify" in a.spec, false, a.metadata.name);
    assert.ok(server(objects).args.includes("--manage-apiservice-ca-bundle"));
    const role = only(objects, "ClusterRole", "system:metrics-server-apiservice-ca");
    assert.deepEqual(permissions(role.rules), [
      "apiregistration.k8s.io apiservices/v1alpha1.diagnostics.metrics-server.x-k8s.io get",
      "apiregistration.k8s.io apiservices/v1alpha1.diagnostics.metrics-server.x-k8s.io update",
      "apiregistration.k8s.io apiservices/v1beta1.metrics.k8s.io get",
      "apiregistration.k8s.io apiservices/v1beta1.metrics.k8s.io update",
    ]);
    const binding = only(objects, "ClusterRoleBinding", "system:metrics-server-apiservice-ca");
    assert.equal(binding.roleRef.name, role.metadata.name);
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "metrics-server", namespace: "kube-system" },
    ]);
  });

  test("cert-manager: the Certificate's Secret is mounted where the TLS flags point, the CA injected", async (t) => {
    if (!kubectlBin(t)) return;
    for (const objects of [
      await render("base", ["cert-manager"]),
      await render("overlays/release-ha", ["cert-manager"]),
    ]) {
      const certificate = only(objects, "Certificate");
      const apiServices = objects.filter((o) => o.kind === "APIService");
      assert.equal(apiServices.length, 2);
      for (const apiService of apiServices) {
        assert.equal("insecureSkipTLSVerify" in apiService.spec, false);
        assert.equal(
          apiService.metadata.annotations["cert-manager.io/inject-ca-from"],
          `${certificate.metadata.namespace}/${certificate.metadata.name}`,
        );
      }
      assert.ok(certificate.spec.dnsNames.includes("metrics-server.kube-system.svc"));
      assert.equal(certificate.spec.issuerRef.name, only(objects, "Issuer").metadata.name);
      const pod = only(objects, "Deployment").spec.template.spec;
      const volume = pod.volumes.find((v: K8sObject) => v.secret?.secretName === certificate.spec.secretName);
      assert.ok(volume, "the Certificate's Secret is a volume");
      const c = server(objects);
      const mount = c.volumeMounts.find((m: K8sObject) => m.name === volume.name);
      assert.equal(mount.readOnly, true);
      assert.ok(c.args.includes(`--tls-cert-file=${mount.mountPath}/tls.crt`));
      assert.ok(c.args.includes(`--tls-private-key-file=${mount.mountPath}/tls.key`));
    }
  });

  test("autoscale: the nanny sizes the server from our measured figures, never upstream's 1m + 2Mi", async (t) => {
    if (!kubectlBin(t)) return;
    const objects = await render("base", ["autoscale"]);
    assert.equal(server(objects).resources, undefined, "the nanny owns the server's resources");
    const nanny = containersOf(objects).find((c) => c.name === "metrics-server-nanny")!;
    const flags = Object.fromEntries(
      nanny.command.slice(1).map((f: string) => f.replace(/^--/, "").split("=") as [string, string]),
    );
    assert.equal(flags.deployment, "metrics-server");
    assert.equal(flags.container, "metrics-server");
    // The base covers 100 nodes as the base manifest's requests do (BENCHMARKS.md: 107 mCPU, 174 MiB).
    assert.deepEqual([flags.cpu, flags.memory], ["100m", "180Mi"]);
    assert.deepEqual([flags["extra-cpu"], flags["extra-memory"]], ["100u", "200Ki"]);
    // At the measured sizes the nanny's linear figures stay above the measured peaks.
    const mib = (n: number): number => 180 + (n * 200) / 1024;
    const mcpu = (n: number): number => 100 + n * 0.1;
    for (const [nodes, cpu, peakMiB] of [
      [100, 107, 174],
      [1000, 177, 357],
      [5000, 435, 925],
    ] as const) {
      assert.ok(mib(nodes) >= peakMiB && mcpu(nodes) >= cpu, `${nodes} nodes`);
    }
    assert.deepEqual(permissions(only(objects, "Role", "metrics-server-nanny").rules), [
      "apps deployments/metrics-server get",
      "apps deployments/metrics-server patch",
      "core pods get",
    ]);
  });

  test("kubectl 1.27's kustomize (the oldest we support) renders every overlay the same", async (t) => {
    const old = kubectlPath(t, 27);
    if (!old || !kubectlBin(t)) return;
    for (const overlay of OVERLAYS) {
      const result = await run(old, ["kustomize", join(deployDir, overlay)]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(parseObjects(result.stdout), await render(overlay), overlay);
    }
  });

  test("npm run manifests writes the release files, with the image replaced", async (t) => {
    if (!kubectlBin(t)) return;
    const out = tempDir(t, "manifests-");
    const image = "my-registry.example:5000/team/metrics-server-ts:v0.1.0-rc.1";
    const result = await run(process.execPath, [
      "scripts/render-manifests.ts",
      "--out",
      out,
      "--image",
      image,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const components = parseObjects(readFileSync(join(out, "components.yaml"), "utf8"));
    const ha = parseObjects(readFileSync(join(out, "high-availability.yaml"), "utf8"));
    assert.equal(server(components).image, image);
    assert.equal(only(components, "Deployment").spec.replicas, undefined);
    assert.equal(only(ha, "Deployment").spec.replicas, 2);
    assert.equal(server(ha).image, image);
    const bad = await run(process.execPath, [
      "scripts/render-manifests.ts",
      "--out",
      out,
      "--image",
      "no tag",
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--image "no tag": want <name>:<tag>/);
  });

  test("the safety checks catch what they look for", () => {
    const container = {
      name: "x",
      image: "r/x:latest",
      securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ["NET_RAW"] } },
    };
    const objects = [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "r" },
        rules: [{ apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] }],
      },
      { apiVersion: "policy/v1beta1", kind: "PodDisruptionBudget", metadata: { name: "p" } },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "d" },
        spec: { template: { spec: { containers: [container] } } },
      },
    ];
    assert.deepEqual(safetyViolations(objects), [
      "ClusterRole r grants nodes/proxy",
      "PodDisruptionBudget p is policy/v1beta1",
      "container x: runAsNonRoot not set",
      "container x: privilege escalation allowed",
      "container x: seccomp not RuntimeDefault",
      "container x: capabilities not dropped",
      "container x: image r/x:latest has no fixed tag",
    ]);
  });

  test("the server's own command line judges the args", () => {
    const deployment = (args: string[]): K8sObject => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { template: { spec: { containers: [{ name: "metrics-server", args }] } } },
    });
    assert.deepEqual(serverArgsErrors([deployment(["--cert-dir=/tmp", "--v=2"])]), []);
    assert.match(
      serverArgsErrors([deployment(["--kubelet-insecure-tlss"])])[0]!,
      /unknown flag: --kubelet-insecure-tlss/,
    );
    assert.match(serverArgsErrors([deployment(["--metric-resolution=fast"])])[0]!, /metric-resolution/);
  });

  test("schema validation rejects a malformed object and an unknown kind", async () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { replicas: "two" },
    };
    await assert.rejects(validateObjects([deployment]), /apps\/v1 Deployment d: .*replicas must be integer/);
    await assert.rejects(
      validateObjects([{ apiVersion: "v1", kind: "Gadget", metadata: { name: "g" } }]),
      /no schema for kind Gadget/,
    );
    await assert.rejects(
      validateObjects([{ apiVersion: "example.com/v1", kind: "X", metadata: { name: "x" } }]),
      /no schema for apiVersion/,
    );
  });
});
