// The kubelet HTTP client and its TLS checks.
export { KubeletClient, type KubeletClientOptions, KubeletHttpError } from "./client.ts";
export { KubeletCertificateError, parseSubjectAltNames } from "./tls.ts";
