import assert from "node:assert/strict";
import { test } from "node:test";
import { restartDelayMs } from "./container.ts";
import { manifestFor, parseImageConfig } from "./image.ts";
import {
  ContainerConfigError,
  containerArgv,
  containerEnv,
  containerUser,
  hostScript,
  mountScript,
} from "./launch.ts";
import { probePort, probeTiming } from "./probe.ts";

const IMAGE = parseImageConfig({
  config: {
    Entrypoint: ["/usr/local/bin/node", "/app/main.ts"],
    Cmd: ["--help"],
    Env: ["PATH=/usr/local/bin", "A=1"],
    WorkingDir: "/app",
    User: "65534:65534",
  },
});
const TOOLS = { mount: "/bin/mount", mkdir: "/bin/mkdir", touch: "/bin/touch", unshare: "/bin/unshare" };

test("command replaces the entrypoint, args the cmd, and --bind-address is appended", () => {
  assert.deepEqual(containerArgv(IMAGE, {}, "10.0.0.1"), [
    "/usr/local/bin/node",
    "/app/main.ts",
    "--help",
    "--bind-address=10.0.0.1",
  ]);
  assert.deepEqual(containerArgv(IMAGE, { args: ["--v=2"] }, "10.0.0.1"), [
    "/usr/local/bin/node",
    "/app/main.ts",
    "--v=2",
    "--bind-address=10.0.0.1",
  ]);
  assert.deepEqual(containerArgv(IMAGE, { command: ["/bin/x"] }, "ip"), ["/bin/x", "--bind-address=ip"]);
  assert.deepEqual(containerArgv(IMAGE, { command: ["/bin/x"], args: ["y"] }, "ip"), [
    "/bin/x",
    "y",
    "--bind-address=ip",
  ]);
});

test("the user comes from the container, then the pod, then the image; runAsNonRoot refuses root", () => {
  assert.deepEqual(containerUser(IMAGE, {}, {}, "p_ns", "c"), { uid: 65534, gid: 65534 });
  assert.deepEqual(containerUser(IMAGE, { runAsUser: 10 }, {}, "p_ns", "c"), { uid: 10, gid: 65534 });
  assert.deepEqual(containerUser(IMAGE, { runAsUser: 10 }, { runAsUser: 1000, runAsGroup: 5 }, "p_ns", "c"), {
    uid: 1000,
    gid: 5,
  });
  assert.throws(
    () => containerUser(IMAGE, { runAsNonRoot: true }, { runAsUser: 0 }, "p_ns", "c"),
    (err: Error) =>
      err instanceof ContainerConfigError &&
      err.message === 'container has runAsNonRoot and image will run as root (pod: "p_ns", container: c)',
  );
  const named = { ...IMAGE, user: "nobody" };
  assert.throws(
    () => containerUser(named, { runAsNonRoot: true }, {}, "p_ns", "c"),
    /non-numeric user \(nobody\)/,
  );
});

test("env: the image's, the container's values and field refs, then the API server", () => {
  const env = containerEnv(
    IMAGE,
    {
      env: [
        { name: "A", value: "2" },
        { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      ],
    },
    {
      podName: "p",
      namespace: "ns",
      podIP: "1.2.3.4",
      hostIP: "5.6.7.8",
      nodeName: "n",
      serviceAccountName: "sa",
    },
    { host: "127.1.0.1", port: 6443 },
  );
  assert.equal(env.A, "2");
  assert.equal(env.PATH, "/usr/local/bin");
  assert.equal(env.NODE, "n");
  assert.equal(env.IP, "1.2.3.4");
  assert.equal(env.KUBERNETES_SERVICE_HOST, "127.1.0.1");
  assert.equal(env.KUBERNETES_SERVICE_PORT, "6443");
});

test("the mount script: overlay, binds, read-only root last, then into the root as the user", () => {
  const script = mountScript(
    {
      imageRootfs: "/img/rootfs",
      upper: "/c/upper",
      work: "/c/work",
      rootfs: "/c/rootfs",
      binds: [{ source: "/v/tmp", target: "/tmp", readOnly: false }],
      readOnlyRoot: true,
    },
    { uid: 1000, gid: 2000 },
    "/app",
    TOOLS,
  ).split("\n");
  assert.equal(
    script[1],
    "/bin/mount -t overlay overlay -o 'lowerdir=/img/rootfs,upperdir=/c/upper,workdir=/c/work' '/c/rootfs'",
  );
  assert.ok(script.includes("/bin/mount --bind '/v/tmp' '/c/rootfs''/tmp'"));
  assert.equal(script.at(-2), "/bin/mount -o remount,bind,ro '/c/rootfs'");
  assert.equal(
    script.at(-1),
    `exec /bin/unshare --root='/c/rootfs' --wd='/app' --setuid 1000 --setgid 2000 -- "$@"`,
  );
});

test("host binds that would hide another bind's source go last", () => {
  const script = hostScript(
    [
      { source: "/v/tmp", target: "/tmp", readOnly: false },
      { source: "/tmp/sim/sa", target: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
    ],
    { uid: 1, gid: 1 },
    "/",
    TOOLS,
    "/opt/web",
  );
  assert.ok(script.indexOf("'/tmp/sim/sa'") < script.indexOf("'/v/tmp'"));
});

test("a host bind that would hide the command itself is left out, and the log says so", () => {
  const script = hostScript(
    [
      { source: "/v/tmp", target: "/tmp", readOnly: false },
      { source: "/v/data", target: "/data", readOnly: false },
    ],
    { uid: 1, gid: 1 },
    "/",
    TOOLS,
    "/tmp/checkout/web.sh",
  );
  assert.doesNotMatch(script, /--bind '\/v\/tmp'/);
  assert.match(script, /--bind '\/v\/data' '\/data'/);
  assert.match(
    script,
    /echo 'kube-sim: \/tmp not mounted: it would hide the command \/tmp\/checkout\/web.sh' >&2/,
  );
});

test("CrashLoopBackOff: at once, then 10 s doubling up to 5 minutes", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 5, 6, 10].map(restartDelayMs),
    [0, 10_000, 20_000, 40_000, 160_000, 300_000, 300_000],
  );
});

test("probe defaults and named ports", () => {
  assert.deepEqual(probeTiming({}), {
    initialDelayMs: 0,
    periodMs: 10_000,
    timeoutMs: 1000,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(probeTiming({ periodSeconds: 2 }).periodMs, 2000);
  const container = { ports: [{ name: "https", containerPort: 10250 }] };
  assert.equal(probePort("https", container), 10250);
  assert.equal(probePort(8080, container), 8080);
  assert.equal(probePort("nope", container), undefined);
});

test("an archive's manifest is found by full reference, by tag, or as the only one", () => {
  const index = (name: string) => ({
    manifests: [{ digest: "sha256:a", annotations: { "org.opencontainers.image.ref.name": name } }],
  });
  assert.deepEqual(manifestFor(index("registry.example.com/x:v1"), "registry.example.com/x:v1"), {
    digest: "sha256:a",
  });
  assert.deepEqual(manifestFor(index("v1"), "registry.example.com/x:v1"), { digest: "sha256:a" });
  assert.deepEqual(manifestFor({ manifests: [{ digest: "sha256:b" }] }, "any:v9"), { digest: "sha256:b" });
  assert.equal(
    manifestFor({ manifests: [{ digest: "sha256:b" }, { digest: "sha256:c" }] }, "any:v9"),
    undefined,
  );
});
