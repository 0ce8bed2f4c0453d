// The kubelet HTTP client and its TLS checks.
export { KubeletClient, type KubeletClientOptions, KubeletHttpError } from "./client.ts";
