// OpenAPI documents for metrics.k8s.io/v1beta1 (`/openapi/v2`, `/openapi/v3`), so that
// `kubectl explain nodemetrics` works through the aggregator, which merges these into the cluster's
// spec. They describe the kinds and the GET routes we serve; built once, as they never change.

import { createHash } from "node:crypto";
import { GROUP, GROUP_VERSION, VERSION } from "./discovery.ts";

const TITLE = "Kubernetes metrics-server";
const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const TYPES = "io.k8s.metrics.pkg.apis.metrics.v1beta1";

type Schema = Record<string, unknown>;

function gvk(kind: string): Schema {
  return { "x-kubernetes-group-version-kind": [{ group: GROUP, kind, version: VERSION }] };
}

/** Schemas keyed by definition name; `ref` turns a name into the document's reference form. */
function schemas(ref: (name: string) => Schema): Record<string, Schema> {
  const usage: Schema = {
    description: "The resource usage: resource name (cpu, memory) to quantity.",
    type: "object",
    additionalProperties: ref(QUANTITY),
  };
  const common = (description: string): Schema => ({
    metadata: { ...ref(`${META}.ObjectMeta`), description: "Standard object's metadata." },
    timestamp: { ...ref(`${META}.Time`), description },
    window: {
      ...ref(`${META}.Duration`),
      description: "The length of the window the usage was measured over.",
    },
  });
  const list = (kind: string, item: string): Schema => ({
    description: `${kind} is a list of ${item}.`,
    type: "object",
    required: ["items"],
    properties: {
      apiVersion: { description: "APIVersion of this representation of an object.", type: "string" },
      kind: { description: "Kind of this object.", type: "string" },
      metadata: { ...ref(`${META}.ListMeta`), description: "Standard list metadata." },
      items: { description: `List of ${item} metrics.`, type: "array", items: ref(`${TYPES}.${item}`) },
    },
    ...gvk(kind),
  });
  const typeMeta = {
    apiVersion: { description: "APIVersion of this representation of an object.", type: "string" },
    kind: { description: "Kind of this object.", type: "string" },
  };
  return {
    [`${TYPES}.ContainerMetrics`]: {
      description: "ContainerMetrics sets resource usage metrics of a container.",
      type: "object",
      required: ["name", "usage"],
      properties: { name: { description: "Container name.", type: "string" }, usage },
    },
    [`${TYPES}.NodeMetrics`]: {
      description: "NodeMetrics sets resource usage metrics of a node.",
      type: "object",
      required: ["timestamp", "window", "usage"],
      properties: {
        ...typeMeta,
        ...common("The end of the window the usage was measured over."),
        usage,
      },
      ...gvk("NodeMetrics"),
    },
    [`${TYPES}.NodeMetricsList`]: list("NodeMetricsList", "NodeMetrics"),
    [`${TYPES}.PodMetrics`]: {
      description: "PodMetrics sets resource usage metrics of a pod.",
      type: "object",
      required: ["timestamp", "window", "containers"],
      properties: {
        ...typeMeta,
        ...common("The end of the window the usage was measured over (the oldest container sample)."),
        containers: {
          description: "Metrics for all containers, collected within the same time window.",
          type: "array",
          items: ref(`${TYPES}.ContainerMetrics`),
          "x-kubernetes-list-type": "atomic",
        },
      },
      ...gvk("PodMetrics"),
    },
    [`${TYPES}.PodMetricsList`]: list("PodMetricsList", "PodMetrics"),
    [QUANTITY]: {
      description: "A fixed-point number with a unit suffix, e.g. 250m or 64Mi.",
      type: "string",
    },
    [`${META}.Duration`]: { description: "A Go duration string, e.g. 15.006s.", type: "string" },
    [`${META}.Time`]: { description: "RFC 3339 date and time, in UTC.", type: "string", format: "date-time" },
    [`${META}.ObjectMeta`]: {
      description: "The metadata metrics objects carry.",
      type: "object",
      properties: {
        name: { description: "Name of the node or pod.", type: "string" },
        namespace: { description: "Namespace of the pod.", type: "string" },
        creationTimestamp: { ...ref(`${META}.Time`), description: "The time the object was served." },
        labels: {
          description: "Labels of the node or pod.",
          type: "object",
          additionalProperties: { type: "string", default: "" },
        },
      },
    },
    [`${META}.ListMeta`]: {
      description: "Standard list metadata (always empty here).",
      type: "object",
      properties: {
        resourceVersion: { type: "string" },
        continue: { type: "string" },
      },
    },
  };
}

interface Route {
  path: string;
  kind: string;
  action: "get" | "list";
  operationId: string;
  namespaced: boolean;
  named: boolean;
}

const ROUTES: readonly Route[] = [
  {
    path: "nodes",
    kind: "NodeMetrics",
    action: "list",
    operationId: "listMetricsV1beta1NodeMetrics",
    namespaced: false,
    named: false,
  },
  {
    path: "nodes/{name}",
    kind: "NodeMetrics",
    action: "get",
    operationId: "readMetricsV1beta1NodeMetrics",
    namespaced: false,
    named: true,
  },
  {
    path: "pods",
    kind: "PodMetrics",
    action: "list",
    operationId: "listMetricsV1beta1PodMetricsForAllNamespaces",
    namespaced: false,
    named: false,
  },
  {
    path: "namespaces/{namespace}/pods",
    kind: "PodMetrics",
    action: "list",
    operationId: "listMetricsV1beta1NamespacedPodMetrics",
    namespaced: true,
    named: false,
  },
  {
    path: "namespaces/{namespace}/pods/{name}",
    kind: "PodMetrics",
    action: "get",
    operationId: "readMetricsV1beta1NamespacedPodMetrics",
    namespaced: true,
    named: true,
  },
];

interface Flavour {
  ref: (name: string) => Schema;
  param: (name: string, location: "path" | "query", description: string) => Schema;
  ok: (schemaName: string) => Schema;
}

function paths(f: Flavour): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const r of ROUTES) {
    const parameters: Schema[] = [];
    if (r.named) parameters.push(f.param("name", "path", `name of the ${r.kind}`));
    if (r.namespaced) parameters.push(f.param("namespace", "path", "object name and auth scope"));
    if (r.action === "list") {
      parameters.push(f.param("labelSelector", "query", "A selector to restrict the list by labels."));
      parameters.push(
        f.param("fieldSelector", "query", "A selector on metadata.name and metadata.namespace."),
      );
    }
    const kind = r.action === "list" ? `${r.kind}List` : r.kind;
    out[`/apis/${GROUP_VERSION}/${r.path}`] = {
      get: {
        description: `${r.action === "list" ? "list" : "read"} ${r.kind}`,
        operationId: r.operationId,
        tags: ["metricsV1beta1"],
        parameters,
        responses: { "200": f.ok(`${TYPES}.${kind}`), "401": { description: "Unauthorized" } },
        "x-kubernetes-action": r.action,
        ...gvk(r.kind),
      },
    };
  }
  return out;
}

const MEDIA_TYPES = ["application/json", "application/vnd.kubernetes.protobuf"];

function swaggerV2(): Schema {
  const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
  return {
    swagger: "2.0",
    info: { title: TITLE, version: GROUP_VERSION },
    produces: MEDIA_TYPES,
    schemes: ["https"],
    paths: paths({
      ref,
      param: (name, location, description) => ({
        name,
        in: location,
        description,
        type: "string",
        ...(location === "path" ? { required: true, uniqueItems: true } : { uniqueItems: true }),
      }),
      ok: (name) => ({ description: "OK", schema: ref(name) }),
    }),
    definitions: schemas(ref),
  };
}

function openapiV3(): Schema {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  return {
    openapi: "3.0.0",
    info: { title: TITLE, version: GROUP_VERSION },
    paths: paths({
      ref,
      param: (name, location, description) => ({
        name,
        in: location,
        description,
        ...(location === "path" ? { required: true } : {}),
        schema: { type: "string", uniqueItems: true },
      }),
      ok: (name) => ({
        description: "OK",
        content: Object.fromEntries(MEDIA_TYPES.map((t) => [t, { schema: ref(name) }])),
      }),
    }),
    components: { schemas: schemas(ref) },
  };
}

export const OPENAPI_V3_GROUP_PATH = `/openapi/v3/apis/${GROUP_VERSION}`;

export interface OpenApiDocuments {
  /** GET /openapi/v2. */
  readonly v2: string;
  /** GET /openapi/v3: the index of group-version documents. */
  readonly v3Index: string;
  /** GET /openapi/v3/apis/metrics.k8s.io/v1beta1. */
  readonly v3GroupVersion: string;
}

export function openApiDocuments(): OpenApiDocuments {
  const v3GroupVersion = JSON.stringify(openapiV3());
  // kube-openapi names each document by the upper-case hex SHA-512 of its bytes; clients cache by it.
  const hash = createHash("sha512").update(v3GroupVersion).digest("hex").toUpperCase();
  const index = {
    paths: { [`apis/${GROUP_VERSION}`]: { serverRelativeURL: `${OPENAPI_V3_GROUP_PATH}?hash=${hash}` } },
  };
  return { v2: JSON.stringify(swaggerV2()), v3Index: JSON.stringify(index), v3GroupVersion };
}
