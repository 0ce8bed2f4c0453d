// The kubelet HTTP client and its TLS checks.
export {
  DEFAULT_MAX_BODY_BYTES,
  KubeletClient,
  type KubeletClientOptions,
  KubeletHttpError,
} from "./client.ts";
export { type CertificateProblem, KubeletCertificateError } from "./tls.ts";
