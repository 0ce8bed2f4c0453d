// Fuzzing the metrics API's router and request parsing (MetricsApi.handle): any method, path, query and
// Accept header gives a whole response — 200 with a body that parses, or a Status whose code is the
// response's (400, 404, 405 or 406) — never a throw, never a 500, never an error log line; paths
// outside /apis and /openapi are left to the server. Replaying a failure: test/support/fuzz.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fc, fuzz } from "../../test/support/fuzz.ts";
import { captureLogs } from "../../test/support/logs.ts";
import { fixture } from "../../test/support/metrics-api-fixture.ts";
import { responseBytes } from "../../test/support/response-body.ts";
import type { ApiRequest } from "../apiserver/index.ts";
import { protobufEncoder } from "./protobuf.ts";

const segment = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "apis",
      "metrics.k8s.io",
      "v1beta1",
      "nodes",
      "pods",
      "namespaces",
      "default",
      "kube-system",
      "kind-worker",
      "web",
      "openapi",
      "v2",
      "v3",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      ".",
      "..",
      "v1",
      "metrics.k8s.io%2Fv1beta1",
      "%2F",
      "%",
      "%zz",
      "%E2%82",
      "%00",
      "%C3%A9",
      "é",
      "watch",
      "status",
      "proxy",
      "a b",
      "?",
      "#",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
/** A name in a route: one that exists, an odd one, or any text (raw or percent-encoded). */
const name = fc.oneof(
  fc.constantFrom("kind-worker", "skipped", "web", "coredns", "default", "kube-system", "gone"),
  segment,
  fc.string({ maxLength: 8 }).map(encodeURIComponent),
);
const V = "/apis/metrics.k8s.io/v1beta1";
/** Paths the API serves, with names filled in and sometimes a trailing slash or more. */
const route = fc
  .tuple(
    fc.constantFrom(
      "/apis",
      "/apis/metrics.k8s.io",
      V,
      `${V}/nodes`,
      `${V}/nodes/{a}`,
      `${V}/pods`,
      `${V}/namespaces/{a}/pods`,
      `${V}/namespaces/{a}/pods/{b}`,
      `${V}/namespaces/{a}`,
      "/openapi/v2",
      "/openapi/v3",
      "/openapi/v3/apis/metrics.k8s.io/v1beta1",
    ),
    name,
    name,
    fc.constantFrom("", "", "", "/", "/x", "//"),
  )
  .map(([template, a, b, tail]) => template.replace("{a}", a).replace("{b}", b) + tail);
const path = fc.oneof(
  { weight: 8, arbitrary: route },
  { weight: 3, arbitrary: fc.array(segment, { maxLength: 7 }).map((s) => `/${s.join("/")}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `/apis/${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const selectorText = fc.oneof(
  fc.constantFrom(
    "",
    "app=web",
    "app in (web,x)",
    "!app",
    "k8s-app",
    "a>1",
    "metadata.name=web",
    "metadata.namespace!=default",
  ),
  fc.string({ unit: fc.constantFrom(..."ab=!,()<> .-/é\\"), maxLength: 12 }),
);
const query = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom("labelSelector", "fieldSelector"), selectorText),
      fc.tuple(fc.constant("watch"), fc.constantFrom("", "0", "1", "true", "false", "FALSE", "x")),
      fc.tuple(
        fc.constantFrom("limit", "continue", "resourceVersion", "timeoutSeconds", "pretty"),
        fc.string({ maxLength: 5 }),
      ),
      fc.tuple(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => new URLSearchParams(pairs));
const accept = fc.oneof(
  fc.constantFrom(
    undefined,
    "",
    "*/*",
    "application/json",
    "application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json",
    "application/vnd.kubernetes.protobuf",
    "application/vnd.kubernetes.protobuf, */*",
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    "application/yaml",
    "text/html",
    "application/json;q=0",
  ),
  fc.string({ unit: fc.constantFrom(..."application/json;=,*. qvgas"), maxLength: 30 }),
);
const method = fc.oneof(
  { weight: 8, arbitrary: fc.constant("GET") },
  { weight: 2, arbitrary: fc.constantFrom("HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "") },
);

const STATUS_CODES = new Set([200, 400, 404, 405, 406]);

describe("MetricsApi.handle, fuzzed", () => {
  for (const withProtobuf of [false, true]) {
    it(`any request: a whole response, never a throw or a 500${withProtobuf ? " (protobuf on)" : ""}`, (t) => {
      const logs = captureLogs(t);
      const { api } = fixture(withProtobuf ? { protobuf: protobufEncoder } : {});
      fuzz(
        fc.property(method, path, query, accept, (m, p, q, a) => {
          const req: ApiRequest = { method: m, path: p, query: q, accept: a };
          const res = api.handle(req);
          const ours =
            p === "/apis" || p.startsWith("/apis/") || p === "/openapi" || p.startsWith("/openapi/");
          if (!ours) {
            assert.equal(res, undefined);
            return;
          }
          assert.ok(res, p);
          assert.ok(STATUS_CODES.has(res.status), `${res.status} for ${m} ${p}?${q}`);
          const body = responseBytes(res);
          if (res.status !== 200) {
            assert.equal(res.contentType, "application/json");
            const status = JSON.parse(body.toString("utf8"));
            assert.equal(status.kind, "Status");
            assert.equal(status.code, res.status);
          } else if (res.contentType.startsWith("application/json")) {
            JSON.parse(body.toString("utf8"));
          } else {
            assert.equal(res.contentType, "application/vnd.kubernetes.protobuf");
            assert.ok(body.length > 4);
          }
          assert.deepEqual(logs, [], "an error was logged");
        }),
        5_000,
      );
    });
  }
});
