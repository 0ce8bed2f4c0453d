import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type ExecConfig, execInfo, runExecPlugin } from "./exec.ts";
import { loadKubeconfig } from "./kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kube-exec-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const V1 = "client.authentication.k8s.io/v1";
const V1BETA1 = "client.authentication.k8s.io/v1beta1";

/** Writes an executable /bin/sh script and returns its path. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function credential(status: unknown, apiVersion = V1): string {
  return JSON.stringify({ apiVersion, kind: "ExecCredential", status });
}

/** A script that prints the given text verbatim (quoted for the shell via a here-document). */
function printer(name: string, text: string): string {
  return script(name, `cat <<'END_OF_OUTPUT'\n${text}\nEND_OF_OUTPUT`);
}

function execConfig(command: string, extra: Partial<ExecConfig> = {}): ExecConfig {
  return {
    apiVersion: V1,
    command,
    args: [],
    env: [],
    provideClusterInfo: false,
    interactiveMode: "Never",
    ...extra,
  };
}

const cluster = {
  server: "https://10.0.0.1:6443",
  ca: Buffer.from("CA-PEM"),
  insecureSkipTLSVerify: false,
  tlsServerName: "kubernetes.default",
};

describe("kubeconfig exec section", () => {
  const kubeconfig = (name: string, user: string, server = "https://10.0.0.1:6443"): string => {
    const path = join(dir, name, "kubeconfig");
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(
      path,
      `current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters:
- name: c
  cluster:
    server: ${server}
    extensions:
    - name: other
      extension: {nope: true}
    - name: client.authentication.k8s.io/exec
      extension: {audience: metrics}
users:
- name: u
  user:
${user}
`,
    );
    return path;
  };

  test("is recorded, with the relative command resolved against the kubeconfig directory, and not run", () => {
    const path = kubeconfig(
      "full",
      `    exec:
      apiVersion: ${V1}
      command: ./bin/does-not-exist
      args: [token, --cluster, prod]
      env: [{name: REGION, value: eu-1}, {name: EMPTY}]
      installHint: install it with your package manager
      provideClusterInfo: true
      interactiveMode: Never`,
    );
    const c = loadKubeconfig(path);
    assert.deepEqual(c.exec, {
      apiVersion: V1,
      command: join(dir, "full", "bin", "does-not-exist"),
      args: ["token", "--cluster", "prod"],
      env: [
        { name: "REGION", value: "eu-1" },
        { name: "EMPTY", value: "" },
      ],
      installHint: "install it with your package manager",
      provideClusterInfo: true,
      interactiveMode: "Never",
      clusterConfig: { audience: "metrics" },
    });
    assert.equal(c.bearerToken, undefined);
  });

  test("a bare command name stays a PATH lookup; v1beta1 defaults interactiveMode to IfAvailable", () => {
    const c = loadKubeconfig(
      kubeconfig("bare", `    exec: {apiVersion: ${V1BETA1}, command: gke-gcloud-auth-plugin}`),
    );
    assert.equal(c.exec?.command, "gke-gcloud-auth-plugin");
    assert.equal(c.exec?.interactiveMode, "IfAvailable");
    assert.equal(c.exec?.provideClusterInfo, false);
    assert.deepEqual(c.exec?.args, []);
  });

  test("over plain http no credentials are used, exec included", () => {
    const c = loadKubeconfig(
      kubeconfig(
        "http",
        `    exec: {apiVersion: ${V1}, command: x, interactiveMode: Never}`,
        "http://10.0.0.1",
      ),
    );
    assert.equal(c.exec, undefined);
  });

  test("invalid sections are clear errors", () => {
    const cases: [string, RegExp][] = [
      [
        `{apiVersion: ${V1}, command: x}`,
        /interactiveMode must be specified for client.authentication.k8s.io\/v1/,
      ],
      [`{apiVersion: ${V1}, command: x, interactiveMode: Sometimes}`, /invalid interactiveMode "Sometimes"/],
      [`{apiVersion: client.authentication.k8s.io/v1alpha1, command: x}`, /apiVersion must be one of/],
      [`{apiVersion: ${V1}, interactiveMode: Never}`, /command is required/],
      [
        `{apiVersion: ${V1}, command: x, interactiveMode: Never, args: [1, {a: b}]}`,
        /args must be a list of strings/,
      ],
      [`{apiVersion: ${V1}, command: x, interactiveMode: Never, env: [{value: v}]}`, /env\[0\] needs a name/],
      [`{apiVersion: ${V1}, command: x, interactiveMode: Never, env: {A: b}}`, /env must be a list/],
      [
        `{apiVersion: ${V1}, command: x, interactiveMode: Never, provideClusterInfo: yes}`,
        /provideClusterInfo/,
      ],
      [`[1, 2]`, /exec: must be a mapping/],
    ];
    for (const [i, [exec, want]] of cases.entries())
      assert.throws(() => loadKubeconfig(kubeconfig(`bad${i}`, `    exec: ${exec}`)), want, exec);
  });
});

describe("runExecPlugin", () => {
  test("returns the token; passes args, env, KUBERNETES_EXEC_INFO without cluster; ignores stdin", async () => {
    const out = join(dir, "seen-basic");
    const cmd = script(
      "basic.sh",
      `printf '%s' "$KUBERNETES_EXEC_INFO" > ${out}.info
printf '%s|%s|%s|%s' "$1" "$2" "$REGION" "$INHERITED" > ${out}.env
cat > ${out}.stdin
echo '${credential({ token: "tok-1" })}'`,
    );
    const result = await runExecPlugin(
      execConfig(cmd, { args: ["get-token", "--x"], env: [{ name: "REGION", value: "eu-1" }] }),
      cluster,
      { baseEnv: { ...process.env, INHERITED: "yes", REGION: "overridden" } },
    );
    assert.deepEqual(result, { token: "tok-1" });
    assert.deepEqual(JSON.parse(readFileSync(`${out}.info`, "utf8")), {
      apiVersion: V1,
      kind: "ExecCredential",
      spec: { interactive: false },
    });
    assert.equal(readFileSync(`${out}.env`, "utf8"), "get-token|--x|eu-1|yes");
    assert.equal(readFileSync(`${out}.stdin`, "utf8"), "");
  });

  test("provideClusterInfo hands the plugin the cluster (CA base64, TLS settings, extension config)", () => {
    const info = JSON.parse(
      execInfo(execConfig("x", { provideClusterInfo: true, clusterConfig: { audience: "a" } }), cluster),
    );
    assert.deepEqual(info, {
      apiVersion: V1,
      kind: "ExecCredential",
      spec: {
        interactive: false,
        cluster: {
          server: "https://10.0.0.1:6443",
          "tls-server-name": "kubernetes.default",
          "certificate-authority-data": Buffer.from("CA-PEM").toString("base64"),
          config: { audience: "a" },
        },
      },
    });
    const insecure = JSON.parse(
      execInfo(execConfig("x", { provideClusterInfo: true, apiVersion: V1BETA1 }), {
        server: "https://h",
        insecureSkipTLSVerify: true,
      }),
    );
    assert.deepEqual(insecure.spec.cluster, { server: "https://h", "insecure-skip-tls-verify": true });
    assert.equal(insecure.apiVersion, V1BETA1);
  });

  test("client certificate, expiration, v1beta1", async () => {
    const cmd = printer(
      "cert.sh",
      credential(
        {
          clientCertificateData: "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n",
          clientKeyData: "-----BEGIN EC PRIVATE KEY-----\nKEY\n-----END EC PRIVATE KEY-----\n",
          expirationTimestamp: "2030-01-02T03:04:05Z",
        },
        V1BETA1,
      ),
    );
    const r = await runExecPlugin(execConfig(cmd, { apiVersion: V1BETA1 }), cluster);
    assert.equal(r.token, undefined);
    assert.match(r.cert?.toString() ?? "", /BEGIN CERTIFICATE-----\nCERT/);
    assert.match(r.key?.toString() ?? "", /PRIVATE KEY-----\nKEY/);
    assert.equal(r.expiresAtMs, Date.UTC(2030, 0, 2, 3, 4, 5));
  });

  test("every failure is an error that says what went wrong", async () => {
    const cases: [ExecConfig, RegExp][] = [
      [
        execConfig(join(dir, "missing-plugin"), { installHint: "Install it from example.com" }),
        /exec: executable .*missing-plugin not found\n\nInstall it from example\.com/,
      ],
      [execConfig("no-such-plugin-on-path-xyz"), /executable no-such-plugin-on-path-xyz not found$/],
      [
        execConfig(script("fail.sh", "echo '  token expired, run login  ' >&2; exit 3")),
        /fail\.sh failed with exit code 3: token expired, run login$/,
      ],
      [execConfig(printer("garbage.sh", "hello")), /returned invalid JSON/],
      [execConfig(printer("array.sh", "[1]")), /not an ExecCredential object/],
      [
        execConfig(
          printer("kind.sh", JSON.stringify({ apiVersion: V1, kind: "Pod", status: { token: "t" } })),
        ),
        /returned kind "Pod", want ExecCredential/,
      ],
      [
        execConfig(printer("version.sh", credential({ token: "t" }, V1BETA1))),
        /configured to use API version client.authentication.k8s.io\/v1, plugin returned version "client.authentication.k8s.io\/v1beta1"/,
      ],
      [execConfig(printer("nostatus.sh", credential(undefined))), /didn't return a status field/],
      [execConfig(printer("empty.sh", credential({}))), /didn't return a token or cert\/key pair/],
      [
        execConfig(printer("halfcert.sh", credential({ clientCertificateData: "C" }))),
        /only one of clientCertificateData and clientKeyData/,
      ],
      [
        execConfig(printer("badtime.sh", credential({ token: "t", expirationTimestamp: "tomorrow" }))),
        /invalid expirationTimestamp "tomorrow"/,
      ],
      [execConfig(printer("numtoken.sh", credential({ token: 42 }))), /non-string status\.token/],
      [execConfig("anything", { interactiveMode: "Always" }), /interactiveMode Always.*not a terminal/],
    ];
    for (const [exec, want] of cases) await assert.rejects(runExecPlugin(exec, cluster), want, exec.command);
  });

  test("a plugin that hangs is killed after the timeout", async () => {
    const cmd = script("hang.sh", "exec sleep 30");
    await assert.rejects(
      runExecPlugin(execConfig(cmd), cluster, { timeoutMs: 200 }),
      /hang\.sh did not finish within 0\.2s/,
    );
  });
});
