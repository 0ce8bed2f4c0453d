// Real kubectl (1.27 and 1.33) against a --bare simulator: kubectl apply -f/-k of every kind a
// metrics-server install creates, re-apply (unchanged), a changed container arg (configured, merged
// into the container by name), strict field validation, get and delete; and RBAC from the applied
// objects: a pod's service account token is forbidden to list nodes until the ClusterRole and its
// binding are applied, and again once the role loses the rule.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { stringify } from "yaml";
import { type AdminCredentials, apiRequest, readAdminCredentials } from "../../scripts/cluster.ts";
import { request } from "../support/https-request.ts";
import { kubectl, kubectlPath } from "../support/kubectl.ts";
import { randomIpBase } from "../support/loopback.ts";
import { root, tempDir } from "../support/paths.ts";
import { startNodeProcess } from "../support/processes.ts";

const DIR = join(root, "test", "ship", "testdata", "all-kinds");
const FILE = join(DIR, "all-kinds.yaml");

/** The fixture's objects as API paths, in file order. */
const OBJECTS = [
  "/api/v1/namespaces/ship-test",
  "/api/v1/namespaces/kube-system/serviceaccounts/metrics-server",
  "/api/v1/namespaces/kube-system/secrets/metrics-server-extra",
  "/api/v1/namespaces/ship-test/configmaps/ship-settings",
  "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregated-metrics-reader",
  "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:metrics-server",
  "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:metrics-server",
  "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/metrics-server:system:auth-delegator",
  "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings/metrics-server-auth-reader",
  "/apis/rbac.authorization.k8s.io/v1/namespaces/ship-test/roles/settings-reader",
  "/api/v1/namespaces/kube-system/services/metrics-server",
  "/api/v1/namespaces/ship-test/endpoints/ship-backend",
  "/apis/apps/v1/namespaces/kube-system/deployments/metrics-server",
  "/apis/policy/v1/namespaces/kube-system/poddisruptionbudgets/metrics-server",
  "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io",
];

// Decoded objects are read field by field.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

interface Sim {
  dir: string;
  kubeconfig: string;
  creds: AdminCredentials;
  /** GET `path` as admin: the object, or undefined on 404. */
  get(path: string): Promise<Json | undefined>;
}

/** A --bare simulator process of this test's own. */
async function bareSim(t: TestContext): Promise<Sim> {
  const dir = tempDir(t, "ship-apply-");
  const port = 20000 + Math.floor(Math.random() * 40000);
  await startNodeProcess(
    t,
    "sim/main.ts",
    [
      "--bare",
      "--nodes",
      "1",
      "--pods-per-node",
      "1",
      "--ip-base",
      randomIpBase(t),
      "--port",
      String(port),
      "--dir",
      dir,
    ],
    "kube-sim ready:",
  );
  const kubeconfig = join(dir, "kubeconfig");
  const creds = readAdminCredentials(kubeconfig);
  const get = async (path: string) => {
    const r = await apiRequest(creds, "GET", path);
    if (r.status === 404) return undefined;
    assert.equal(r.status, 200, `GET ${path}: ${r.body}`);
    return JSON.parse(r.body);
  };
  return { dir, kubeconfig, creds, get };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

function stored(sim: Sim): Promise<(Json | undefined)[]> {
  return Promise.all(OBJECTS.map((p) => sim.get(p)));
}

function writeVariant(t: TestContext, edit: (text: string) => string): string {
  const path = join(tempDir(t, "ship-variant-"), "variant.yaml");
  writeFileSync(path, edit(readFileSync(FILE, "utf8")));
  return path;
}

for (const minor of [27, 33]) {
  test(`kubectl 1.${minor}: apply, re-apply, change, validation, get and delete of every kind`, async (t) => {
    const bin = kubectlPath(t, minor);
    if (!bin) return;
    const sim = await bareSim(t);
    const k = async (args: string[]) => kubectl(t, bin, sim.kubeconfig, args);

    const created = await k(["apply", "-f", FILE]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(
      lines(created.stdout).filter((l) => l.endsWith(" created")).length,
      OBJECTS.length,
      created.stdout,
    );
    const before = await stored(sim);
    for (const [i, o] of before.entries()) assert.ok(o, `${OBJECTS[i]} was stored`);

    // Re-applying through kustomize gives the same objects: nothing is written.
    const again = await k(["apply", "-k", DIR]);
    assert.equal(again.code, 0, again.stderr);
    const notUnchanged = lines(again.stdout).filter((l) => !l.endsWith(" unchanged"));
    // kubectl 1.27 reads no OpenAPI v2 here and builds patches from its compiled-in types, whose
    // retainKeys (Deployment strategy) and replace (PDB selector) directives make a patch that
    // changes nothing; 1.33 builds them from the served OpenAPI v3 and sends none.
    const expected =
      minor === 27
        ? [
            "deployment.apps/metrics-server configured",
            "poddisruptionbudget.policy/metrics-server configured",
          ]
        : [];
    assert.deepEqual(notUnchanged, expected, again.stdout);
    // (The APIService is left out: the aggregator's availability checks write its status.)
    const versions = (objects: Json[]) =>
      objects.filter((o) => o?.kind !== "APIService").map((o) => o?.metadata.resourceVersion);
    assert.deepEqual(versions(await stored(sim)), versions(before), "an unchanged re-apply writes nothing");

    const changed = writeVariant(t, (s) => s.replace("--metric-resolution=15s", "--metric-resolution=30s"));
    const configured = await k(["apply", "-f", changed]);
    assert.equal(configured.code, 0, configured.stderr);
    assert.deepEqual(
      lines(configured.stdout).filter((l) => !l.endsWith(" unchanged")),
      minor === 27 ? expected : ["deployment.apps/metrics-server configured"],
    );
    const deployment = await sim.get(OBJECTS[12]);
    const spec = deployment.spec;
    assert.equal(spec.template.spec.containers.length, 1);
    assert.equal(spec.template.spec.containers[0].name, "metrics-server");
    assert.ok(spec.template.spec.containers[0].args.includes("--metric-resolution=30s"));
    assert.ok(!spec.template.spec.containers[0].args.includes("--metric-resolution=15s"));
    assert.equal(deployment.metadata.generation, 2);

    // Strict field validation (kubectl's default) on a patch and on a create.
    const typo = writeVariant(t, (s) =>
      s.replace(
        "          imagePullPolicy: Never\n",
        "          imagePullPolicy: Never\n          imagePullPolity: Never\n",
      ),
    );
    const rejected = await k(["apply", "-f", typo]);
    assert.notEqual(rejected.code, 0);
    assert.match(
      rejected.stderr,
      /strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolity"/,
    );
    const extra = join(tempDir(t, "ship-extra-"), "cm.yaml");
    writeFileSync(
      extra,
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: ship-test}\ndatta: {a: b}\n",
    );
    const rejectedCreate = await k(["apply", "-f", extra]);
    assert.notEqual(rejectedCreate.code, 0);
    assert.match(rejectedCreate.stderr, /unknown field "datta"/);
    assert.equal(await sim.get("/api/v1/namespaces/ship-test/configmaps/extra"), undefined);
    const warned = await k(["apply", "--validate=warn", "-f", extra]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /Warning: unknown field "datta"/);
    const kept = await sim.get("/api/v1/namespaces/ship-test/configmaps/extra");
    assert.equal(kept.datta, undefined, "unknown fields are never stored");

    const got = await k(["get", "-f", FILE, "-o", "name"]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(lines(got.stdout).length, OBJECTS.length, got.stdout);

    const deleted = await k(["delete", "-k", DIR]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(
      (await stored(sim)).flatMap((o, i) => (o ? [OBJECTS[i]] : [])),
      [],
      "every object is gone",
    );
    assert.equal(
      await sim.get("/api/v1/namespaces/ship-test/configmaps/extra"),
      undefined,
      "the namespace took its objects",
    );
  });
}

test("RBAC from applied objects decides what a pod's service account token may do", async (t) => {
  const bin = kubectlPath(t, 33);
  if (!bin) return;
  const sim = await bareSim(t);
  const admin = async (args: string[]) => kubectl(t, bin, sim.kubeconfig, args);
  // (kubectl 1.33's `create` sends protobuf, which the simulator does not read: apply sends JSON.)
  const saFile = join(sim.dir, "sa.yaml");
  writeFileSync(
    saFile,
    "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: metrics-server, namespace: kube-system}\n",
  );
  const sa = await admin(["apply", "-f", saFile]);
  assert.equal(sa.code, 0, sa.stderr);
  const pods = await sim.get("/api/v1/namespaces/kube-system/pods");
  const pod = pods.items[0];
  const issued = await apiRequest(
    sim.creds,
    "POST",
    "/api/v1/namespaces/kube-system/serviceaccounts/metrics-server/token",
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.metadata.name, uid: pod.metadata.uid },
      },
    },
  );
  assert.equal(issued.status, 201, issued.body);
  const token: string = JSON.parse(issued.body).status.token;
  const kubeconfig = join(sim.dir, "sa.kubeconfig");
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "sim",
          cluster: { server: sim.creds.server, "certificate-authority": join(sim.dir, "pki", "ca.crt") },
        },
      ],
      users: [{ name: "sa", user: { token } }],
      contexts: [{ name: "sa", context: { cluster: "sim", user: "sa" } }],
      "current-context": "sa",
    }),
  );
  const asPod = async (args: string[]) => kubectl(t, bin, kubeconfig, args);

  // The kubelets authorize through the same objects (nodes/metrics is granted, nodes/stats is not).
  const nodes = await sim.get("/api/v1/nodes");
  const node = nodes.items[0];
  const kubeletUrl = `https://${node.status.addresses.find((a: Json) => a.type === "InternalIP").address}:${node.status.daemonEndpoints.kubeletEndpoint.Port}`;
  const ca = readFileSync(join(sim.dir, "pki", "ca.crt"), "utf8");
  const kubelet = async (path: string) =>
    (await request(kubeletUrl, path, { ca, headers: { authorization: `Bearer ${token}` } })).status;
  assert.equal(await kubelet("/metrics/resource"), 403);

  // The admin impersonating the service account (kubectl --as) sees the same decisions.
  const asSa = ["--as", "system:serviceaccount:kube-system:metrics-server"];
  const impersonated = await admin([...asSa, "get", "nodes"]);
  assert.notEqual(impersonated.code, 0);
  assert.match(impersonated.stderr, /cannot list resource "nodes"/);
  // kubectl auth can-i (SelfSubjectAccessReview); 1.33 sends its review as protobuf, 1.27 as JSON.
  const bin27 = kubectlPath(t, 27);
  if (!bin27) return;
  const canI = async () =>
    (await kubectl(t, bin27, sim.kubeconfig, [...asSa, "auth", "can-i", "list", "nodes"])).stdout.trim();
  assert.equal(await canI(), "no");
  const forbidden = await asPod(["get", "nodes"]);
  assert.notEqual(forbidden.code, 0);
  assert.match(
    forbidden.stderr,
    /nodes is forbidden: User "system:serviceaccount:kube-system:metrics-server" cannot list resource "nodes"/,
  );

  const applied = await admin(["apply", "-f", FILE]);
  assert.equal(applied.code, 0, applied.stderr);
  const allowed = await asPod(["get", "nodes", "-o", "name"]);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(lines(allowed.stdout).length, 1);
  assert.equal(await kubelet("/metrics/resource"), 200);
  assert.equal((await admin([...asSa, "get", "nodes"])).code, 0);
  assert.equal(await canI(), "yes");
  const noImpersonation = await asPod(["--as", "kubernetes-admin", "get", "--raw", "/api"]);
  assert.match(noImpersonation.stderr, /cannot impersonate resource "users"/);
  assert.equal(await kubelet("/stats/summary"), 403);

  // The role loses pods and nodes: the same token is forbidden again.
  const narrowed = writeVariant(t, (s) =>
    s.replace('  - apiGroups: [""]\n    resources: [pods, nodes]\n    verbs: [get, list, watch]\n', ""),
  );
  const edited = await admin(["apply", "-f", narrowed]);
  assert.equal(edited.code, 0, edited.stderr);
  assert.match(edited.stdout, /clusterrole.rbac.authorization.k8s.io\/system:metrics-server configured/);
  const again = await asPod(["get", "nodes"]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /cannot list resource "nodes"/);

  // The ServiceAccount is deleted: its tokens no longer authenticate at all.
  const gone = await admin(["delete", "serviceaccount", "metrics-server", "-n", "kube-system"]);
  assert.equal(gone.code, 0, gone.stderr);
  const unauthorized = await asPod(["get", "--raw", "/version"]);
  assert.notEqual(unauthorized.code, 0);
  assert.match(unauthorized.stderr, /Unauthorized/);
});
