// Who a TLS client is, from its certificate: CN is the user name, every O a group (as kube-apiserver and
// the kubelet read client certificates).

import type { TLSSocket } from "node:tls";
import type { UserInfo } from "../types.ts";

/** The user of a verified client certificate: CN is the name, every O a group. */
export function certUser(socket: TLSSocket): UserInfo | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (!name) return undefined;
  const o = cert.subject.O;
  const groups = o === undefined ? [] : Array.isArray(o) ? [...o] : [o];
  return { name, groups: [...groups.filter((g) => g !== "system:authenticated"), "system:authenticated"] };
}

/** True when the client sent a certificate (verified or not). */
export function presentedCert(socket: TLSSocket): boolean {
  const cert = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
  return cert !== undefined && cert !== null && Object.keys(cert).length > 0;
}
