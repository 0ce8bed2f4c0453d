import assert from "node:assert/strict";
import { test } from "node:test";
import { type AnsweredRequest, RequestRoutes, type ServedResource } from "./request-info.ts";

const RESOURCES: ServedResource[] = [
  { group: "metrics.k8s.io", version: "v1beta1", resource: "nodes", namespaced: false },
  { group: "metrics.k8s.io", version: "v1beta1", resource: "pods", namespaced: true },
];
const routes = new RequestRoutes(RESOURCES);
const V1BETA1 = "/apis/metrics.k8s.io/v1beta1";
const AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

function answered(pathAndQuery: string, over: Partial<AnsweredRequest> = {}): AnsweredRequest {
  const [pathname, query = ""] = pathAndQuery.split("?");
  return {
    method: "GET",
    pathname: pathname!,
    query: new URLSearchParams(query),
    contentType: undefined,
    responseContentType: "application/json",
    ...over,
  };
}

function labels(pathAndQuery: string, over: Partial<AnsweredRequest> = {}, code = 200) {
  return routes.match(answered(pathAndQuery, over))?.total(code);
}

const resource = (verb: string, name: string, scope: string, code = "200") => ({
  verb,
  dry_run: "",
  group: "metrics.k8s.io",
  version: "v1beta1",
  resource: name,
  subresource: "",
  scope,
  component: "apiserver",
  code,
});

test("a list of nodes is LIST at cluster scope; a get of one is GET at resource scope", () => {
  assert.deepEqual(labels(`${V1BETA1}/nodes`), resource("LIST", "nodes", "cluster"));
  assert.deepEqual(labels(`${V1BETA1}/nodes?labelSelector=a%3Db`), resource("LIST", "nodes", "cluster"));
  assert.deepEqual(labels(`${V1BETA1}/nodes/node-1`), resource("GET", "nodes", "resource"));
});

test("pods: all namespaces is cluster scope, one namespace namespace scope, one pod resource scope", () => {
  assert.deepEqual(labels(`${V1BETA1}/pods`), resource("LIST", "pods", "cluster"));
  assert.deepEqual(labels(`${V1BETA1}/namespaces/default/pods`), resource("LIST", "pods", "namespace"));
  assert.deepEqual(labels(`${V1BETA1}/namespaces/default/pods/web-1`), resource("GET", "pods", "resource"));
});

test("the code is the response's; a missing object is a counted 404 of its route", () => {
  assert.deepEqual(labels(`${V1BETA1}/nodes/gone`, {}, 404), resource("GET", "nodes", "resource", "404"));
  assert.deepEqual(labels(`${V1BETA1}/pods`, {}, 503), resource("LIST", "pods", "cluster", "503"));
});

test("watch and dryRun in the query set the verb and dry_run labels as upstream reads them", () => {
  assert.equal(labels(`${V1BETA1}/nodes?watch=true`)?.verb, "WATCH");
  assert.equal(labels(`${V1BETA1}/nodes?watch`)?.verb, "WATCH");
  assert.equal(labels(`${V1BETA1}/nodes?watch=False`)?.verb, "LIST");
  assert.equal(labels(`${V1BETA1}/nodes?watch=0`)?.verb, "LIST");
  assert.equal(labels(`${V1BETA1}/nodes/n?watch=1`)?.verb, "WATCH");
  assert.equal(labels(`${V1BETA1}/nodes?dryRun=All`)?.dry_run, "All");
  assert.equal(labels(`${V1BETA1}/nodes?dryRun=All&dryRun=All`)?.dry_run, "All");
  assert.equal(labels(`${V1BETA1}/nodes?dryRun=yes`)?.dry_run, "invalid");
  assert.equal(labels(`${V1BETA1}/nodes?labelSelector=dryRun`)?.dry_run, "");
  // The SLI latency leaves dry runs out.
  assert.equal(routes.match(answered(`${V1BETA1}/nodes?dryRun=All`))?.dryRun, true);
  assert.equal(routes.match(answered(`${V1BETA1}/nodes`))?.dryRun, false);
});

test("health paths are GETs with the path as subresource and no component; their sub-checks are not counted", () => {
  const health = (path: string) => ({
    verb: "GET",
    dry_run: "",
    group: "",
    version: "",
    resource: "",
    subresource: path,
    scope: "",
    component: "",
    code: "200",
  });
  for (const p of ["/healthz", "/livez", "/readyz"]) assert.deepEqual(labels(p), health(p));
  assert.deepEqual(labels("/readyz?verbose&exclude=log"), health("/readyz"));
  assert.deepEqual(labels("/livez", { method: "HEAD" }), health("/livez"));
  assert.equal(labels("/readyz", { method: "POST" }, 405)?.verb, "POST");
  assert.equal(labels("/healthz", { method: "OPTIONS" })?.verb, "other");
  assert.equal(
    labels("/healthz", { method: "PATCH", contentType: "application/apply-patch+yaml" })?.verb,
    "APPLY",
  );
  assert.equal(labels("/readyz/informer-sync"), undefined);
  assert.equal(labels("/healthz/"), undefined);
});

test("discovery: only the aggregated /apis document is counted", () => {
  assert.deepEqual(labels("/apis", { responseContentType: AGGREGATED }), {
    verb: "GET",
    dry_run: "",
    group: "",
    version: "",
    resource: "",
    subresource: "/apis",
    scope: "",
    component: "apiserver",
    code: "200",
  });
  assert.equal(labels("/apis"), undefined, "the legacy APIGroupList");
  assert.equal(labels("/apis/metrics.k8s.io"), undefined);
  assert.equal(labels(V1BETA1), undefined);
  assert.equal(labels(`${V1BETA1}/`), undefined);
});

test("paths no route serves are not counted, so no raw path becomes a label value", () => {
  for (const p of [
    "/metrics",
    "/version",
    "/openapi/v2",
    "/no/such/path",
    "/apis/example.com/v1/nodes",
    "/apis/metrics.k8s.io/v1/nodes",
    `${V1BETA1}/services`,
    `${V1BETA1}/nodes/`,
    `${V1BETA1}/nodes/a/b`,
    `${V1BETA1}/namespaces/default/nodes`,
    `${V1BETA1}/namespaces/default/nodes/a`,
    `${V1BETA1}/namespaces//pods`,
    `${V1BETA1}/namespaces/default`,
    `${V1BETA1}/namespaces/default/pods/web-1/log`,
    `${V1BETA1}/watch/pods`,
  ])
    assert.equal(labels(p), undefined, p);
});

test("the API's routes are GETs: other methods are answered before any route and not counted", () => {
  for (const method of ["HEAD", "POST", "PUT", "DELETE"])
    assert.equal(labels(`${V1BETA1}/nodes`, { method }, 405), undefined, method);
});

test("a route's label objects are built once and shared by every request it serves", () => {
  const a = routes.match(answered(`${V1BETA1}/namespaces/a/pods`))!;
  const b = routes.match(answered(`${V1BETA1}/namespaces/b/pods?labelSelector=x`))!;
  assert.equal(a, b);
  assert.equal(a.total(200), b.total(200));
  assert.notEqual(a.total(200), a.total(404));
  assert.equal(a.size.verb, "LIST");
  assert.equal("dry_run" in a.size, false, "response_sizes has no dry_run label");
  assert.equal("code" in a.duration, false);
});

test("a server that serves no resources counts only health and aggregated discovery", () => {
  const bare = new RequestRoutes([]);
  assert.equal(bare.match(answered(`${V1BETA1}/nodes`)), undefined);
  assert.ok(bare.match(answered("/healthz")));
});
