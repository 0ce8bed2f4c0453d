// Front-proxy (request-header) authentication: a client certificate from the request-header CA
// vouches for the user named in the headers (k8s.io/apiserver pkg/authentication/request/headerrequest).
import type { RequestHeaderConfig } from "./config.ts";
import type { AuthRequest, UserInfo } from "./types.ts";
import { type AuthnResult, NONE } from "./user.ts";
import { chainOutcome, type VerifiedChainCache } from "./x509.ts";

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

/**
 * Front-proxy authentication: a client cert from the request-header CA vouches for the user headers.
 * Pass a cache (one per authenticator, not shared with the x509 one) to verify each chain once.
 */
export function authenticateRequestHeader(
  req: AuthRequest,
  config: RequestHeaderConfig | undefined,
  now = Date.now(),
  cache?: VerifiedChainCache,
): AuthnResult {
  if (!config || config.cas.length === 0 || req.peerCertificates.length === 0) return NONE;
  const outcome = chainOutcome(req.peerCertificates, config.cas, now, cache);
  if (!outcome.ok) return { kind: "error", error: outcome.error };
  if (config.allowedNames.length > 0) {
    if (!outcome.identity) return { kind: "error", error: outcome.identityError };
    const cn = outcome.identity.commonName;
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
