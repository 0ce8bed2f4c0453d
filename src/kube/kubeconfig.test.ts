import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import * as log from "../log/index.ts";
import { loadInClusterConfig, loadKubeconfig, loadRestConfig } from "./kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kube-kubeconfig-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string): string => Buffer.from(s).toString("base64");

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const twoContexts = `
apiVersion: v1
kind: Config
current-context: inline
clusters:
- name: c-inline
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: ${b64("CA-INLINE")}
    tls-server-name: apiserver.local
- name: c-files
  cluster:
    server: https://10.0.0.1
    certificate-authority: pki/ca.crt
    insecure-skip-tls-verify: true
users:
- name: u-inline
  user:
    client-certificate-data: ${b64("CERT-INLINE")}
    client-key-data: ${b64("KEY-INLINE")}
- name: u-files
  user:
    client-certificate: pki/client.crt
    client-key: pki/client.key
    token: tok-123
contexts:
- name: inline
  context: { cluster: c-inline, user: u-inline }
- name: files
  context: { cluster: c-files, user: u-files }
`;

describe("loadKubeconfig", () => {
  write("cfg/pki/ca.crt", "CA-FILE");
  write("cfg/pki/client.crt", "CERT-FILE");
  write("cfg/pki/client.key", "KEY-FILE");
  const path = write("cfg/kubeconfig", twoContexts);

  test("current context with inline data", () => {
    const c = loadKubeconfig(path);
    assert.equal(c.server, "https://127.0.0.1:6443");
    assert.equal(c.ca?.toString(), "CA-INLINE");
    assert.equal(c.cert?.toString(), "CERT-INLINE");
    assert.equal(c.key?.toString(), "KEY-INLINE");
    assert.equal(c.tlsServerName, "apiserver.local");
    assert.equal(c.insecureSkipTLSVerify, false);
    assert.equal(c.bearerToken, undefined);
  });

  test("named context with files relative to the kubeconfig directory, token, insecure", () => {
    const c = loadKubeconfig(path, "files");
    assert.equal(c.server, "https://10.0.0.1");
    assert.equal(c.ca?.toString(), "CA-FILE");
    assert.equal(c.cert?.toString(), "CERT-FILE");
    assert.equal(c.key?.toString(), "KEY-FILE");
    assert.equal(c.bearerToken, "tok-123");
    assert.equal(c.insecureSkipTLSVerify, true);
  });

  test("tokenFile is read and remembered for rotation", () => {
    write("tf/token", "  file-token\n");
    const p = write(
      "tf/kubeconfig",
      `current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
`,
    );
    const c = loadKubeconfig(p);
    assert.equal(c.bearerToken, "file-token");
    assert.equal(c.bearerTokenFile, join(dir, "tf", "token"));
  });

  test("plain http servers get no credentials (as clientcmd)", () => {
    const p = write(
      "http/kubeconfig",
      `current-context: x
clusters: [{name: c, cluster: {server: "http://127.0.0.1:8080"}}]
users: [{name: u, user: {token: secret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
`,
    );
    const c = loadKubeconfig(p);
    assert.equal(c.server, "http://127.0.0.1:8080");
    assert.equal(c.bearerToken, undefined);
  });

  test("errors", () => {
    const bad = (name: string, body: string): string => write(`bad/${name}`, body);
    const base = `clusters: [{name: c, cluster: {server: "https://h:1"}}]\n`;
    assert.throws(() => loadKubeconfig(join(dir, "nope")), /unable to read kubeconfig .*nope/);
    assert.throws(() => loadKubeconfig(path, "x"), /context "x" not found in kubeconfig/);
    assert.throws(() => loadKubeconfig(bad("yaml", "a: [")), /unable to parse kubeconfig/);
    assert.throws(() => loadKubeconfig(bad("scalar", "hello")), /not a YAML mapping/);
    assert.throws(() => loadKubeconfig(bad("nocurrent", base)), /no current-context/);
    assert.throws(
      () =>
        loadKubeconfig(
          bad("nocluster", "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"),
        ),
      /cluster "c" not found in kubeconfig/,
    );
    assert.throws(
      () =>
        loadKubeconfig(
          bad("nouser", `${base}current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n`),
        ),
      /user "u" not found in kubeconfig/,
    );
    assert.throws(
      () =>
        loadKubeconfig(
          bad(
            "exec",
            `${base}current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n`,
          ),
        ),
      /user "u" exec: apiVersion must be one of client.authentication.k8s.io\/v1, client.authentication.k8s.io\/v1beta1/,
    );
    assert.throws(
      () =>
        loadKubeconfig(
          bad(
            "certfile",
            `${base}current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {client-certificate: missing.crt, client-key: missing.key}}]\n`,
          ),
        ),
      /unable to read user "u" client-certificate .*missing\.crt/,
    );
    assert.throws(
      () =>
        loadKubeconfig(
          bad(
            "noserver",
            "clusters: [{name: c, cluster: {}}]\ncurrent-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n",
          ),
        ),
      /cluster "c" in kubeconfig .* has no server/,
    );
    assert.throws(
      () =>
        loadKubeconfig(
          bad(
            "badb64",
            "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: '%%%'}}]\ncurrent-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n",
          ),
        ),
      /certificate-authority-data" is not valid base64/,
    );
  });

  test("loadRestConfig prefers the kubeconfig", () => {
    assert.equal(loadRestConfig(path).server, "https://127.0.0.1:6443");
  });
});

describe("loadInClusterConfig", () => {
  const root = join(dir, "sa");
  write("sa/token", "sa-token\n");
  write("sa/ca.crt", "SA-CA");

  test("reads host, port, token and CA", () => {
    const c = loadInClusterConfig(
      { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
      root,
    );
    assert.equal(c.server, "https://10.96.0.1:443");
    assert.equal(c.bearerToken, "sa-token");
    assert.equal(c.bearerTokenFile, join(root, "token"));
    assert.equal(c.ca?.toString(), "SA-CA");
    assert.equal(c.insecureSkipTLSVerify, false);
  });

  test("brackets IPv6 hosts", () => {
    const c = loadInClusterConfig(
      { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
      root,
    );
    assert.equal(c.server, "https://[fd00::1]:443");
  });

  test("missing environment", () => {
    assert.throws(
      () => loadInClusterConfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1" }, root),
      /unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/,
    );
  });

  test("missing token fails, missing CA is logged and tolerated", () => {
    const env = { KUBERNETES_SERVICE_HOST: "h", KUBERNETES_SERVICE_PORT: "1" };
    assert.throws(() => loadInClusterConfig(env, join(dir, "empty")), /unable to read service account token/);
    write("sa2/token", "t");
    const lines: string[] = [];
    const prev = log.setSink((l) => lines.push(l));
    try {
      const c = loadInClusterConfig(env, join(dir, "sa2"));
      assert.equal(c.ca, undefined);
      assert.equal(c.bearerToken, "t");
    } finally {
      log.setSink(prev);
    }
    assert.match(lines.join(""), /Expected to load root CA config/);
  });
});
