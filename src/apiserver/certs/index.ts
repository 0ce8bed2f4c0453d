// Public face of src/apiserver/certs: the serving certificate (given, self-signed, or signed by a CA of
// our own for the APIService's caBundle), its reload, SNI, Go's TLS version and cipher names, and the
// subject fields of a client certificate (DER read in der.ts).

export { subjectFields } from "./der.ts";
export { watchCertKeyPair } from "./reload.ts";
export { generateServingCA } from "./serving-ca.ts";
export { loadServingCert, readFileOrThrow } from "./serving-cert.ts";
export { certificateNames, sniMatcher } from "./sni.ts";
export {
  INSECURE_CIPHER_SUITES,
  nodeMinVersion,
  opensslCipherList,
  PREFERRED_CIPHER_SUITES,
  TLS_VERSIONS,
} from "./tls.ts";
