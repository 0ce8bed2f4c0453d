// Request authentication as a delegated kube-apiserver does it: front-proxy request headers behind a
// verified client certificate, x509 client certificates, bearer tokens through TokenReview, and
// anonymous last. Client certificates arrive unverified (see auth-types.ts): they are verified here
// against the CAs current at request time, so a rotated CA takes effect without a new TLS context.

import { createHash, type X509Certificate } from "node:crypto";
import "reflect-metadata"; // @peculiar/x509 needs the Reflect metadata API loaded first
import * as px from "@peculiar/x509";
import { createTokenReview, type KubeClient } from "../kube/index.ts";
import { type RequestHeaderConfig, TtlCache } from "./auth-config.ts";
import type { AuthRequest, UserInfo } from "./auth-types.ts";

export const ANONYMOUS_USER = "system:anonymous";
export const UNAUTHENTICATED_GROUP = "system:unauthenticated";
export const AUTHENTICATED_GROUP = "system:authenticated";

const EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const EKU_ANY = "2.5.29.37.0";
// Deeper chains than this are not real PKI; the bound keeps a hostile chain from costing much.
const MAX_CHAIN_DEPTH = 8;
const MAX_PRESENTED_CERTS = 16;

/** One authenticator's answer: a user, "not mine" (try the next), or a rejected credential. */
export type AuthnResult =
  | { kind: "user"; user: UserInfo }
  | { kind: "none" }
  | { kind: "error"; error: string };

const NONE: AuthnResult = { kind: "none" };

function validityError(c: X509Certificate, now: number): string | undefined {
  const from = c.validFromDate.getTime();
  const to = c.validToDate.getTime();
  if (now < from || now > to) {
    const nowText = new Date(now).toISOString();
    return now < from
      ? `x509: certificate has expired or is not yet valid: current time ${nowText} is before ${c.validFromDate.toISOString()}`
      : `x509: certificate has expired or is not yet valid: current time ${nowText} is after ${c.validToDate.toISOString()}`;
  }
  return undefined;
}

// A certificate without an extended key usage extension may be used for anything.
function allowsClientAuth(c: X509Certificate): boolean {
  const eku = c.keyUsage;
  return eku === undefined || eku.includes(EKU_CLIENT_AUTH) || eku.includes(EKU_ANY);
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Verifies a presented client chain (leaf first) against trusted CAs, as Go's x509.Verify does for
 * client certificates: signatures up to a trusted certificate through the presented intermediates
 * (which must be CAs), every certificate within its validity period, and clientAuth allowed by the
 * extended key usage of each certificate that has one. Returns undefined when it verifies, else why not.
 */
export function verifyClientChain(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now = Date.now(),
): string | undefined {
  const leaf = chain[0];
  if (!leaf) return "no client certificate";
  if (chain.length > MAX_PRESENTED_CERTS) return `x509: too many certificates presented (${chain.length})`;
  const leafValidity = validityError(leaf, now);
  if (leafValidity) return leafValidity;
  if (!allowsClientAuth(leaf)) return "x509: certificate specifies an incompatible key usage";
  // A trusted certificate presented as-is is its own chain.
  if (roots.some((r) => r.raw.equals(leaf.raw))) return undefined;
  const intermediates = chain.slice(1);
  const used = new Set<X509Certificate>();
  let sawUsageProblem = false;
  const search = (cert: X509Certificate, depth: number): boolean => {
    for (const root of roots) {
      if (signedBy(cert, root) && validityError(root, now) === undefined) return true;
    }
    if (depth >= MAX_CHAIN_DEPTH) return false;
    for (const inter of intermediates) {
      if (used.has(inter) || !inter.ca || !signedBy(cert, inter)) continue;
      if (validityError(inter, now) !== undefined) continue;
      if (!allowsClientAuth(inter)) {
        sawUsageProblem = true;
        continue;
      }
      used.add(inter);
      if (search(inter, depth + 1)) return true;
      used.delete(inter);
    }
    return false;
  };
  if (search(leaf, 0)) return undefined;
  return sawUsageProblem
    ? "x509: certificate specifies an incompatible key usage"
    : "x509: certificate signed by unknown authority";
}

/** The subject's last CommonName and all Organization values, as Go's pkix.Name reads them. */
export function subjectIdentity(cert: X509Certificate): { commonName: string; organizations: string[] } {
  const name = new px.X509Certificate(cert.raw).subjectName;
  const cns = name.getField("CN");
  return { commonName: cns[cns.length - 1] ?? "", organizations: name.getField("O") };
}

function certLabel(cert: X509Certificate): string {
  let cn = "";
  try {
    cn = subjectIdentity(cert).commonName;
  } catch {
    // Only for the message.
  }
  return `SN=${BigInt(`0x${cert.serialNumber || "0"}`).toString()}, CN=${JSON.stringify(cn)}`;
}

function verifyFailure(cert: X509Certificate, why: string): AuthnResult {
  return { kind: "error", error: `verifying certificate ${certLabel(cert)} failed: ${why}` };
}

/** The values of a header, one per header line (the listener may hand a single string or a list). */
function headerValues(req: AuthRequest, name: string): string[] {
  const v = req.headers[name.trim().toLowerCase()];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function firstNonEmpty(req: AuthRequest, names: readonly string[]): string {
  for (const name of names) {
    if (name.trim() === "") continue;
    const v = headerValues(req, name)[0];
    if (v) return v;
  }
  return "";
}

// Extra keys are percent-encoded on the wire (header names cannot carry every character); a key
// that does not decode is kept as sent, so no asserted value is silently dropped.
function unescapeExtraKey(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

function extraFromHeaders(req: AuthRequest, prefixes: readonly string[]): Record<string, string[]> {
  const extra: Record<string, string[]> = {};
  for (const rawPrefix of prefixes) {
    const prefix = rawPrefix.toLowerCase();
    if (prefix === "") continue;
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || !name.toLowerCase().startsWith(prefix)) continue;
      const key = unescapeExtraKey(name.toLowerCase().slice(prefix.length));
      const list = extra[key] ?? [];
      list.push(...(Array.isArray(value) ? value : [value]));
      extra[key] = list;
    }
  }
  return extra;
}

/** Front-proxy authentication: a client cert from the request-header CA vouches for the user headers. */
export function authenticateRequestHeader(
  req: AuthRequest,
  config: RequestHeaderConfig | undefined,
  now = Date.now(),
): AuthnResult {
  const leaf = req.peerCertificates[0];
  if (!config || config.cas.length === 0 || !leaf) return NONE;
  const why = verifyClientChain(req.peerCertificates, config.cas, now);
  if (why) return verifyFailure(leaf, why);
  if (config.allowedNames.length > 0) {
    const cn = subjectIdentity(leaf).commonName;
    if (!config.allowedNames.includes(cn))
      return { kind: "error", error: `x509: subject with cn=${cn} is not in the allowed list` };
  }
  const name = firstNonEmpty(req, config.usernameHeaders);
  if (name === "") return NONE;
  const groups: string[] = [];
  for (const header of config.groupHeaders) {
    if (header.trim() === "") continue;
    for (const v of headerValues(req, header)) if (v !== "") groups.push(v);
  }
  const user: UserInfo = { name, groups, extra: extraFromHeaders(req, config.extraHeaderPrefixes) };
  const uid = firstNonEmpty(req, config.uidHeaders);
  if (uid) user.uid = uid;
  return { kind: "user", user };
}

/** x509 authentication: user = CommonName, groups = Organizations of a cert the client CA verifies. */
export function authenticateClientCert(
  req: AuthRequest,
  cas: readonly X509Certificate[] | undefined,
  now = Date.now(),
): AuthnResult {
  const leaf = req.peerCertificates[0];
  if (!cas || cas.length === 0 || !leaf) return NONE;
  const why = verifyClientChain(req.peerCertificates, cas, now);
  if (why) return verifyFailure(leaf, why);
  const { commonName, organizations } = subjectIdentity(leaf);
  return { kind: "user", user: { name: commonName, groups: organizations, extra: {} } };
}

/** The bearer token of `Authorization: Bearer <token>`, or undefined when there is none. */
export function bearerToken(req: AuthRequest): string | undefined {
  const raw = req.headers.authorization;
  const auth = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!auth) return undefined;
  const parts = auth.split(" ");
  if (parts.length < 2 || parts[0]!.toLowerCase() !== "bearer") return undefined;
  // Go's SplitN(auth, " ", 3): the token is the second field, anything after a further space ignored.
  const token = parts[1]!;
  return token === "" ? undefined : token;
}

/** TokenReview authentication with a TTL cache of answers (authenticated and rejected alike). */
export class TokenAuthenticator {
  private readonly client: KubeClient;
  private readonly ttlMs: number;
  private readonly cache: TtlCache<AuthnResult>;
  /** How many TokenReviews were sent (for tests and diagnostics). */
  reviews = 0;

  constructor(client: KubeClient, ttlMs: number, now: () => number = Date.now) {
    this.client = client;
    this.ttlMs = ttlMs;
    this.cache = new TtlCache<AuthnResult>(4096, now);
  }

  async authenticate(req: AuthRequest): Promise<AuthnResult> {
    const token = bearerToken(req);
    if (token === undefined) return NONE;
    // Keyed by a digest so the cache does not hold tokens themselves.
    const key = createHash("sha256").update(token).digest("base64");
    return this.cache.getOrLoad(
      key,
      () => this.review(token),
      () => this.ttlMs,
    );
  }

  private async review(token: string): Promise<AuthnResult> {
    this.reviews++;
    const status = await createTokenReview(this.client, token);
    if (!status.authenticated) return { kind: "error", error: status.error || "invalid bearer token" };
    const u = status.user ?? {};
    const user: UserInfo = {
      name: typeof u.username === "string" ? u.username : "",
      groups: Array.isArray(u.groups) ? u.groups.filter((g) => typeof g === "string") : [],
      extra: u.extra && typeof u.extra === "object" ? u.extra : {},
    };
    if (typeof u.uid === "string" && u.uid !== "") user.uid = u.uid;
    return { kind: "user", user };
  }
}

/** kube-apiserver's AuthenticatedGroupAdder: every authenticated user is in system:authenticated. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.name === ANONYMOUS_USER) return user;
  if (user.groups.includes(AUTHENTICATED_GROUP) || user.groups.includes(UNAUTHENTICATED_GROUP)) return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

export function anonymousUser(): UserInfo {
  return { name: ANONYMOUS_USER, groups: [UNAUTHENTICATED_GROUP], extra: {} };
}
