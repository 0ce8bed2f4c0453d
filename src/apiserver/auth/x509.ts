// x509 client-certificate authentication as a delegated kube-apiserver does it. Client certificates
// arrive unverified (see types.ts): they are verified here against the CAs current at request time,
// so a rotated CA takes effect without a new TLS context. Verification outcomes are cached per
// presented chain (VerifiedChainCache): one HTTP/2 connection (the aggregator's, the HPA's) carries
// hundreds of requests a second, and verifying a chain costs ~270 µs of signature checks and
// certificate parsing each time (~0.3 µs from the cache).
import { createHash, type X509Certificate } from "node:crypto";
import { subjectFields } from "../certs/index.ts";
import type { AuthRequest } from "./types.ts";
import { type AuthnResult, NONE } from "./user.ts";

const EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const EKU_ANY = "2.5.29.37.0";
// Deeper chains than this are not real PKI; the bound keeps a hostile chain from costing much.
const MAX_CHAIN_DEPTH = 8;
const MAX_PRESENTED_CERTS = 16;
const DEFAULT_CHAIN_CACHE_ENTRIES = 4096;

/** The subject fields authentication uses: the user name and groups of an x509 client. */
export interface SubjectIdentity {
  commonName: string;
  organizations: string[];
}

/**
 * The times at which every validity-period check made during one verification gives the same
 * answer. Everything else a verification looks at (signatures, CA flags, key usages) does not
 * depend on time, so inside this window a new verification would reach the same verdict.
 */
class ValidityWindow {
  notBefore = Number.NEGATIVE_INFINITY; // inclusive
  notAfter = Number.POSITIVE_INFINITY; // inclusive
  after = Number.NEGATIVE_INFINITY; // exclusive
  before = Number.POSITIVE_INFINITY; // exclusive

  contains(t: number): boolean {
    return t >= this.notBefore && t <= this.notAfter && t > this.after && t < this.before;
  }
}

interface Validity {
  from: number;
  to: number;
}

function validityOf(c: X509Certificate): Validity {
  return { from: c.validFromDate.getTime(), to: c.validToDate.getTime() };
}

/** Whether `now` is inside the period; records in `window` how long that answer stays the same. */
function isValidAt(v: Validity, now: number, window: ValidityWindow): boolean {
  if (now < v.from) {
    window.before = Math.min(window.before, v.from);
    return false;
  }
  if (now > v.to) {
    window.after = Math.max(window.after, v.to);
    return false;
  }
  window.notBefore = Math.max(window.notBefore, v.from);
  window.notAfter = Math.min(window.notAfter, v.to);
  return true;
}

function validityMessage(v: Validity, now: number): string {
  const nowText = new Date(now).toISOString();
  const bound =
    now < v.from ? `before ${new Date(v.from).toISOString()}` : `after ${new Date(v.to).toISOString()}`;
  return `x509: certificate has expired or is not yet valid: current time ${nowText} is ${bound}`;
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

/** Why a chain does not verify; `leafValidity` marks the one verdict whose message names the time. */
type ChainVerdict = { ok: true } | { ok: false; why: string; leafValidity: boolean };

const VERIFIED: ChainVerdict = { ok: true };

function rejected(why: string, leafValidity = false): ChainVerdict {
  return { ok: false, why, leafValidity };
}

// The whole verification; every validity check it makes is recorded in `window`.
function evaluateChain(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: number,
  window: ValidityWindow,
): ChainVerdict {
  const leaf = chain[0];
  if (!leaf) return rejected("no client certificate");
  if (chain.length > MAX_PRESENTED_CERTS)
    return rejected(`x509: too many certificates presented (${chain.length})`);
  const leafValidity = validityOf(leaf);
  if (!isValidAt(leafValidity, now, window)) return rejected(validityMessage(leafValidity, now), true);
  if (!allowsClientAuth(leaf)) return rejected("x509: certificate specifies an incompatible key usage");
  // A trusted certificate presented as-is is its own chain.
  if (roots.some((r) => r.raw.equals(leaf.raw))) return VERIFIED;
  const intermediates = chain.slice(1);
  const used = new Set<X509Certificate>();
  let sawUsageProblem = false;
  const search = (cert: X509Certificate, depth: number): boolean => {
    for (const root of roots) {
      if (signedBy(cert, root) && isValidAt(validityOf(root), now, window)) return true;
    }
    if (depth >= MAX_CHAIN_DEPTH) return false;
    for (const inter of intermediates) {
      if (used.has(inter) || !inter.ca || !signedBy(cert, inter)) continue;
      if (!isValidAt(validityOf(inter), now, window)) continue;
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
  if (search(leaf, 0)) return VERIFIED;
  return rejected(
    sawUsageProblem
      ? "x509: certificate specifies an incompatible key usage"
      : "x509: certificate signed by unknown authority",
  );
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
  const verdict = evaluateChain(chain, roots, now, new ValidityWindow());
  return verdict.ok ? undefined : verdict.why;
}

/** The subject's last CommonName and all Organization values, as Go's pkix.Name reads them. */
export function subjectIdentity(cert: X509Certificate): SubjectIdentity {
  const { commonNames, organizations } = subjectFields(cert.raw);
  return { commonName: commonNames[commonNames.length - 1] ?? "", organizations };
}

/** What a presented chain means for authentication: a verified identity or the exact rejection. */
export type ChainOutcome =
  | { ok: true; identity: SubjectIdentity }
  /** A verified chain whose subject cannot be read (so it names nobody). */
  | { ok: true; identity: undefined; identityError: string }
  | { ok: false; error: string };

/** Everything learned about one presented chain that does not change from request to request. */
class ChainFacts {
  readonly leafValidity: Validity;
  readonly identity: SubjectIdentity | undefined;
  readonly identityError: string;
  private readonly serial: string;
  verdict: ChainVerdict = VERIFIED;
  window = new ValidityWindow();
  private failure = "";

  constructor(leaf: X509Certificate) {
    this.leafValidity = validityOf(leaf);
    let identity: SubjectIdentity | undefined;
    let identityError = "";
    try {
      identity = subjectIdentity(leaf);
    } catch (err) {
      identityError = `unable to read the client certificate's subject: ${err instanceof Error ? err.message : String(err)}`;
    }
    this.identity = identity;
    this.identityError = identityError;
    this.serial = BigInt(`0x${leaf.serialNumber || "0"}`).toString();
  }

  /** Re-verifies at `now`; the verdict then holds for every time inside the new window. */
  verify(chain: readonly X509Certificate[], roots: readonly X509Certificate[], now: number): void {
    this.window = new ValidityWindow();
    this.verdict = evaluateChain(chain, roots, now, this.window);
    this.failure = "";
  }

  /** The outcome at `now`, which must be inside the window of the last verification. */
  outcome(now: number): ChainOutcome {
    const v = this.verdict;
    if (v.ok) {
      return this.identity
        ? { ok: true, identity: this.identity }
        : { ok: true, identity: undefined, identityError: this.identityError };
    }
    // The leaf-validity message names the current time, so it is built per request.
    if (v.leafValidity)
      return { ok: false, error: this.failureText(validityMessage(this.leafValidity, now)) };
    if (this.failure === "") this.failure = this.failureText(v.why);
    return { ok: false, error: this.failure };
  }

  private failureText(why: string): string {
    const cn = this.identity?.commonName ?? "";
    return `verifying certificate SN=${this.serial}, CN=${JSON.stringify(cn)} failed: ${why}`;
  }
}

function sameCerts(a: readonly X509Certificate[], b: readonly X509Certificate[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The cache key of a presented chain: SHA-256 over the DER of each certificate, in order. */
function chainDigest(chain: readonly X509Certificate[]): string {
  const h = createHash("sha256");
  for (const c of chain) h.update(c.raw);
  return h.digest("base64");
}

/**
 * Verification outcomes per presented chain for one set of trusted CAs, least recently used dropped
 * first beyond `maxEntries`. Handing it other CAs (a reloaded file, a changed ConfigMap) empties
 * it, so a rotated CA takes effect on the next request. A cached verdict is used only while the
 * time is inside the window of validity periods it was reached under; outside it (a certificate
 * expired or became valid) the chain is verified again. Subject identity is parsed once per entry.
 */
export class VerifiedChainCache {
  /** Full verifications performed (misses and re-verifications), for tests and diagnostics. */
  verifications = 0;
  private readonly maxEntries: number;
  private readonly entries = new Map<string, ChainFacts>();
  private roots: readonly X509Certificate[] = [];
  // The listener (../request.ts) hands the same chain array for every request of a connection:
  // remember its digest, together with the certificates it was computed from, so a reused array is
  // never misread.
  private readonly digests = new WeakMap<
    readonly X509Certificate[],
    { certs: X509Certificate[]; key: string }
  >();

  constructor(maxEntries = DEFAULT_CHAIN_CACHE_ENTRIES) {
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
  }

  get size(): number {
    return this.entries.size;
  }

  /** What `chain` (leaf first, non-empty) means against `roots` at `now`. */
  check(chain: readonly X509Certificate[], roots: readonly X509Certificate[], now: number): ChainOutcome {
    if (!sameCerts(roots, this.roots)) {
      this.entries.clear();
      this.roots = roots;
    }
    // Nothing to gain from remembering a chain rejected before any signature is checked.
    if (chain.length > MAX_PRESENTED_CERTS) return uncachedOutcome(chain, roots, now);
    const key = this.keyOf(chain);
    let facts = this.entries.get(key);
    if (facts) {
      this.entries.delete(key); // re-inserted below as the most recently used
    } else {
      facts = new ChainFacts(chain[0]!);
      this.verifications++;
      facts.verify(chain, roots, now);
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
    }
    if (!facts.window.contains(now)) {
      this.verifications++;
      facts.verify(chain, roots, now);
    }
    this.entries.set(key, facts);
    return facts.outcome(now);
  }

  private keyOf(chain: readonly X509Certificate[]): string {
    const memo = this.digests.get(chain);
    if (memo && sameCerts(memo.certs, chain)) return memo.key;
    const key = chainDigest(chain);
    this.digests.set(chain, { certs: [...chain], key });
    return key;
  }
}

function uncachedOutcome(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: number,
): ChainOutcome {
  const facts = new ChainFacts(chain[0]!);
  facts.verify(chain, roots, now);
  return facts.outcome(now);
}

export function chainOutcome(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: number,
  cache: VerifiedChainCache | undefined,
): ChainOutcome {
  return cache ? cache.check(chain, roots, now) : uncachedOutcome(chain, roots, now);
}

/**
 * x509 authentication: user = CommonName, groups = Organizations of a cert the client CA verifies.
 * Pass a cache (one per authenticator) to verify each chain once.
 */
export function authenticateClientCert(
  req: AuthRequest,
  cas: readonly X509Certificate[] | undefined,
  now = Date.now(),
  cache?: VerifiedChainCache,
): AuthnResult {
  if (!cas || cas.length === 0 || req.peerCertificates.length === 0) return NONE;
  const outcome = chainOutcome(req.peerCertificates, cas, now, cache);
  if (!outcome.ok) return { kind: "error", error: outcome.error };
  if (!outcome.identity) return { kind: "error", error: outcome.identityError };
  const { commonName, organizations } = outcome.identity;
  // The cached identity is shared between requests: hand out a copy the caller may change.
  return { kind: "user", user: { name: commonName, groups: [...organizations], extra: {} } };
}
