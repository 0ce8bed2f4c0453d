export { bootstrapPolicy, builtinRbac, METRICS_SERVER_SA, type PolicyObject } from "./bootstrap.ts";
export { certUser, presentedCert } from "./identity.ts";
export { renderKubeconfigFor, writeKubeconfig, writeKubeconfigText } from "./kubeconfig.ts";
export { ServingCertIssuer } from "./leafcert.ts";
export { type CA, type CertAndKey, createCA, createKeyPair, issueCert, type KeyPairWithPem } from "./pki.ts";
export {
  ANONYMOUS,
  type Attributes,
  forbiddenStatus,
  Rbac,
  type RbacResource,
  requestAttributes,
  serviceAccountUser,
} from "./rbac.ts";
export {
  adminUser,
  type BoundObjects,
  bearerToken,
  randomToken,
  ServiceAccountTokens,
  TokenTable,
} from "./tokens.ts";
