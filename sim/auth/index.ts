export { certUser, presentedCert } from "./identity.ts";
export { renderKubeconfigFor, writeKubeconfig, writeKubeconfigText } from "./kubeconfig.ts";
export { ServingCertIssuer } from "./leafcert.ts";
export { type CA, type CertAndKey, createCA, createKeyPair, issueCert, type KeyPairWithPem } from "./pki.ts";
export {
  ANONYMOUS,
  type Attributes,
  builtinRbac,
  forbiddenStatus,
  METRICS_SERVER_SA,
  type Rbac,
  requestAttributes,
  serviceAccountUser,
} from "./rbac.ts";
export { adminUser, bearerToken, randomToken, TokenTable } from "./tokens.ts";
