export { Cluster, type WatchEvent } from "./cluster.ts";
export { ApiError, expiredError } from "./errors.ts";
export { unknownFields } from "./fields.ts";
export { type KubeObject, RESOURCE_INFO, RESOURCES, type Resource } from "./resources.ts";
export { type FieldType, ROOT_TYPE, TYPES } from "./schema.ts";
export { formBytes, formPieces, listBytes, type ObjectForm, type StoredObject } from "./stored.ts";
export { truthOf } from "./truth.ts";
