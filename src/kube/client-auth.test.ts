// KubeClient with rotating credentials: 401 → invalidate and retry once, exec client certificates
// presented on new connections, in-cluster token rotation.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { TLSSocket } from "node:tls";
import { fakeExecPlugin, selfSigned } from "../../test/support/kube-credentials.ts";
import { captureLogs } from "../../test/support/logs.ts";
import { ApiError, KubeClient } from "./client.ts";
import { Credentials, TOKEN_FILE_REFRESH_MS } from "./credentials.ts";
import { loadInClusterConfig } from "./kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kube-client-auth-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", code: 401, reason: "Unauthorized", message: "Unauthorized" }));
}

/** An http API server that accepts exactly one bearer token at a time. */
async function tokenServer(t: { after(fn: () => Promise<void>): void }) {
  const state = { accepted: "", seen: [] as (string | undefined)[] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.seen.push(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${state.accepted}`) return unauthorized(res);
    res.writeHead(200, { "content-type": "application/json" });
    if (new URL(req.url ?? "/", "http://x").searchParams.get("watch") === "true")
      res.end(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } })}\n`);
    else res.end('{"kind":"NodeList","items":[]}');
  });
  const port = await listen(server);
  t.after(() => closeServer(server));
  return { state, url: `http://127.0.0.1:${port}` };
}

test("a 401 makes the exec plugin run again and the request is retried once", async (t) => {
  const api = await tokenServer(t);
  const plugin = fakeExecPlugin(dir);
  plugin.answer({ token: "old" });
  const client = new KubeClient({ server: api.url, insecureSkipTLSVerify: false, exec: plugin.exec });
  t.after(() => client.close());

  api.state.accepted = "old";
  await client.getJSON("/api/v1/nodes");
  // The server revokes the token; the plugin now hands out a new one.
  api.state.accepted = "new";
  plugin.answer({ token: "new" });
  const body = await client.getJSON<{ kind: string }>("/api/v1/nodes");
  assert.equal(body.kind, "NodeList");
  assert.deepEqual(api.state.seen, ["Bearer old", "Bearer old", "Bearer new"]);
  assert.equal(plugin.runs(), 2);

  // A watch refused with 401 is retried the same way.
  api.state.accepted = "newer";
  plugin.answer({ token: "newer" });
  const events = [];
  for await (const ev of client.watch("/api/v1/pods", { watch: "true" }, "application/json")) events.push(ev);
  assert.deepEqual(events, [{ type: "ADDED", object: { metadata: { name: "a" } } }]);
  assert.deepEqual(api.state.seen.slice(3), ["Bearer new", "Bearer newer"]);

  // Still refused after the retry: the 401 is reported, and there is no third attempt.
  api.state.accepted = "never";
  const before = api.state.seen.length;
  await assert.rejects(
    client.getJSON("/api/v1/nodes"),
    (e: unknown) =>
      e instanceof ApiError && e.status === 401 && /server returned 401: Unauthorized/.test(e.message),
  );
  assert.equal(api.state.seen.length - before, 2);
});

test("a static token is not retried after a 401", async (t) => {
  const api = await tokenServer(t);
  const client = new KubeClient({ server: api.url, insecureSkipTLSVerify: false, bearerToken: "static" });
  t.after(() => client.close());
  await assert.rejects(client.getJSON("/x"), (e: unknown) => e instanceof ApiError && e.status === 401);
  assert.deepEqual(api.state.seen, ["Bearer static"]);
});

test("an exec plugin failure fails the request with the plugin's error", async (t) => {
  const api = await tokenServer(t);
  const plugin = fakeExecPlugin(dir);
  plugin.answer({});
  const client = new KubeClient({ server: api.url, insecureSkipTLSVerify: false, exec: plugin.exec });
  t.after(() => client.close());
  await assert.rejects(client.getJSON("/x"), /didn't return a token or cert\/key pair/);
  assert.deepEqual(api.state.seen, [], "nothing is sent without the credential");
});

test("in-cluster config: a rotated service-account token is sent after the re-read", async (t) => {
  captureLogs(t); // no ca.crt in this mount: logged, as client-go does
  const root = join(dir, "serviceaccount");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "token"), "sa-1\n");
  const api = await tokenServer(t);
  const port = new URL(api.url).port;
  const config = loadInClusterConfig(
    { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: port },
    root,
  );
  assert.equal(config.server, `https://127.0.0.1:${port}`);
  // The fake server speaks plain http; everything else about the in-cluster config is kept.
  let now = 1_000_000;
  const credentials = new Credentials(config, { now: () => now });
  const client = new KubeClient({ ...config, server: api.url }, { credentials });
  t.after(() => client.close());
  assert.equal(client.credentials, credentials);

  api.state.accepted = "sa-1";
  await client.getJSON("/x");
  writeFileSync(join(root, "token"), "sa-2\n");
  await client.getJSON("/x"); // not re-read yet: the old token is still valid on the server
  api.state.accepted = "sa-2";
  now += TOKEN_FILE_REFRESH_MS;
  await client.getJSON("/x");
  assert.deepEqual(api.state.seen, ["Bearer sa-1", "Bearer sa-1", "Bearer sa-2"]);

  // Rotated and revoked within the minute: the 401 triggers an immediate re-read.
  writeFileSync(join(root, "token"), "sa-3\n");
  api.state.accepted = "sa-3";
  await client.getJSON("/x");
  assert.deepEqual(api.state.seen.slice(3), ["Bearer sa-2", "Bearer sa-3"]);
});

test("the exec plugin's client certificate is presented, and a new one after it changes", async (t) => {
  const serverPair = await selfSigned("apiserver", { ip: ["127.0.0.1"] });
  const first = await selfSigned("exec-user-1", {});
  const second = await selfSigned("exec-user-2", {});
  const seen: string[] = [];
  let allowed = "exec-user-1";
  const server = createHttpsServer(
    {
      cert: serverPair.cert,
      key: serverPair.key,
      ca: [first.cert, second.cert],
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const cn = String((req.socket as TLSSocket).getPeerCertificate()?.subject?.CN ?? "none");
      seen.push(cn);
      if (cn !== allowed) return unauthorized(res);
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    },
  );
  const port = await listen(server);
  t.after(() => closeServer(server));

  const plugin = fakeExecPlugin(dir);
  plugin.answer({ clientCertificateData: first.cert, clientKeyData: first.key });
  const client = new KubeClient({
    server: `https://127.0.0.1:${port}`,
    ca: Buffer.from(serverPair.cert),
    insecureSkipTLSVerify: false,
    exec: plugin.exec,
  });
  t.after(() => client.close());
  await client.getJSON("/x");
  await client.getJSON("/x");
  assert.deepEqual(seen, ["exec-user-1", "exec-user-1"]);

  allowed = "exec-user-2";
  plugin.answer({ clientCertificateData: second.cert, clientKeyData: second.key });
  await client.getJSON("/x");
  assert.deepEqual(seen.slice(2), ["exec-user-1", "exec-user-2"]);
  assert.equal(plugin.runs(), 2);
});
