export { Cluster, type WatchEvent } from "./cluster.ts";
export { ApiError, expiredError } from "./errors.ts";
export { type KubeObject, RESOURCE_INFO, type Resource } from "./resources.ts";
export { formBytes, formPieces, listBytes, type ObjectForm, type StoredObject } from "./stored.ts";
export { truthOf } from "./truth.ts";
