// The storage stage's public face: the two-point store the scraper fills and the API reads.

export { registerStorageMetrics } from "./monitoring.ts";
export { type StoreAsyncOptions, TwoPointStore, type TwoPointStoreOptions } from "./store.ts";
export type * from "./types.ts";
