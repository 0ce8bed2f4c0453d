// Delegated authentication and authorization, as every aggregated API server does it: trust
// material from flags or from kube-system/extension-apiserver-authentication (watched, so CA
// rotation needs no restart), TokenReview for bearer tokens and SubjectAccessReview for everything
// not allowed outright. The listener (../serve.ts) hands each request to check() and sends the answer.

import { goQuote } from "../../go/index.ts";
import {
  ApiError,
  AUTHENTICATION_CONFIGMAP_NAME,
  AUTHENTICATION_CONFIGMAP_NAMESPACE,
  type ConfigMap,
  getConfigMap,
  type KubeClient,
  newConfigMapReflector,
  type Reflector,
} from "../../kube/index.ts";
import * as log from "../../log/index.ts";
import { type AuthorizationResult, observeAuthentication, observeAuthorization } from "../monitoring.ts";
import { statusJSON } from "../status.ts";
import {
  forbiddenBody,
  PathAllowList,
  PRIVILEGED_GROUP,
  requestAttributes,
  SubjectAccessReviewAuthorizer,
} from "./authorization.ts";
import {
  type ConfigMapAuthConfig,
  FileCABundle,
  parseAuthConfigMap,
  type RequestHeaderConfig,
} from "./config.ts";
import { authenticateRequestHeader } from "./request-header.ts";
import { TokenAuthenticator } from "./token-review.ts";
import type { AuthDecision, AuthRequest, RequestAuth, UserInfo } from "./types.ts";
import { type AuthnResult, anonymousUser, withAuthenticatedGroup } from "./user.ts";
import { authenticateClientCert, VerifiedChainCache } from "./x509.ts";

/**
 * The flags this needs, under their option names (src/cmd/metrics-server/options/authentication.ts
 * and authorization.ts declare them), so the parsed options pass as they are.
 */
export interface AuthOptions {
  clientCaFile: string;
  requestheaderClientCaFile: string;
  requestheaderAllowedNames: string[];
  requestheaderUsernameHeaders: string[];
  requestheaderGroupHeaders: string[];
  requestheaderExtraHeadersPrefix: string[];
  authenticationSkipLookup: boolean;
  authenticationTolerateLookupFailure: boolean;
  authenticationTokenWebhookCacheTtlMs: number;
  authorizationAlwaysAllowPaths: string[];
  authorizationWebhookCacheAuthorizedTtlMs: number;
  authorizationWebhookCacheUnauthorizedTtlMs: number;
}

/** Knobs for tests; production uses the defaults. */
export interface DelegatedAuthTuning {
  /** How often CA files given by flag are checked for changes (default 5 s). */
  fileCheckIntervalMs?: number;
  /** Clock for the token and SubjectAccessReview caches. */
  now?: () => number;
  /** Clock that client certificates' validity periods are checked against (default Date.now). */
  certificateNow?: () => number;
  /** How many presented client-certificate chains each verification cache keeps (default 4096). */
  chainCacheEntries?: number;
}

const UNAUTHORIZED_BODY = statusJSON(401, "Unauthorized", "Unauthorized");
const CONFIGMAP_KEY = `${AUTHENTICATION_CONFIGMAP_NAMESPACE}/${AUTHENTICATION_CONFIGMAP_NAME}`;
const READER_ROLE = "extension-apiserver-authentication-reader";

function sanitize(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function requestURI(req: AuthRequest): string {
  const q = req.query.toString();
  return q ? `${req.path}?${q}` : req.path;
}

/** A failed request that says nothing about our configuration: no answer, a 5xx or a 429. */
function unreachable(err: unknown): boolean {
  return !(err instanceof ApiError) || err.status >= 500 || err.status === 429;
}

export class DelegatedAuth implements RequestAuth {
  private readonly clientCAFile: FileCABundle | undefined;
  private readonly requestHeaderCAFile: FileCABundle | undefined;
  private readonly flagRequestHeader: Omit<RequestHeaderConfig, "cas">;
  private fromConfigMap: ConfigMapAuthConfig = {};
  private reflector: Reflector<ConfigMap> | undefined;
  private readonly tokens: TokenAuthenticator;
  private readonly sar: SubjectAccessReviewAuthorizer;
  private readonly alwaysAllow: PathAllowList;
  // One per trust anchor set: each empties itself when handed CAs other than those it verified with.
  private readonly clientCertChains: VerifiedChainCache;
  private readonly requestHeaderChains: VerifiedChainCache;
  private readonly certificateNow: () => number;

  private constructor(
    opts: AuthOptions,
    authnClient: KubeClient,
    authzClient: KubeClient,
    tuning: DelegatedAuthTuning,
  ) {
    this.alwaysAllow = new PathAllowList(opts.authorizationAlwaysAllowPaths);
    this.clientCertChains = new VerifiedChainCache(tuning.chainCacheEntries);
    this.requestHeaderChains = new VerifiedChainCache(tuning.chainCacheEntries);
    this.certificateNow = tuning.certificateNow ?? Date.now;
    this.clientCAFile = opts.clientCaFile
      ? new FileCABundle(opts.clientCaFile, "--client-ca-file", tuning.fileCheckIntervalMs)
      : undefined;
    try {
      this.requestHeaderCAFile = opts.requestheaderClientCaFile
        ? new FileCABundle(
            opts.requestheaderClientCaFile,
            "--requestheader-client-ca-file",
            tuning.fileCheckIntervalMs,
          )
        : undefined;
    } catch (err) {
      this.clientCAFile?.stop();
      throw err;
    }
    this.flagRequestHeader = {
      allowedNames: opts.requestheaderAllowedNames,
      usernameHeaders: opts.requestheaderUsernameHeaders,
      groupHeaders: opts.requestheaderGroupHeaders,
      extraHeaderPrefixes: opts.requestheaderExtraHeadersPrefix,
      uidHeaders: [],
    };
    this.tokens = new TokenAuthenticator(authnClient, opts.authenticationTokenWebhookCacheTtlMs, tuning.now);
    this.sar = new SubjectAccessReviewAuthorizer(
      authzClient,
      opts.authorizationWebhookCacheAuthorizedTtlMs,
      opts.authorizationWebhookCacheUnauthorizedTtlMs,
      tuning.now,
    );
  }

  /**
   * Reads the CA files, reads kube-system/extension-apiserver-authentication for whatever the flags
   * leave unset (unless --authentication-skip-lookup) and keeps watching it. Rejects with a clear
   * message when a file cannot be used, or when the lookup fails and failures are not tolerated.
   */
  static async start(
    opts: AuthOptions,
    authnClient: KubeClient,
    authzClient: KubeClient,
    tuning: DelegatedAuthTuning = {},
  ): Promise<DelegatedAuth> {
    const auth = new DelegatedAuth(opts, authnClient, authzClient, tuning);
    const needLookup =
      !opts.authenticationSkipLookup && (!opts.clientCaFile || !opts.requestheaderClientCaFile);
    if (!needLookup) return auth;
    try {
      await auth.lookup(authnClient, opts);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // An API server that cannot be reached (down, 5xx, throttling) is not a configuration error:
      // start, and let the ConfigMap watch below fill the CAs in once it answers. Until then what
      // the ConfigMap provides authenticates nobody (such requests are anonymous, and authorizing
      // them needs that API server too), and readiness waits for the same API server's lists.
      if (unreachable(err)) {
        log.warning(
          "Cannot reach the API server for the authentication configuration; starting without it until the ConfigMap watch reads it",
          { configmap: CONFIGMAP_KEY, err: message },
        );
      } else if (!opts.authenticationTolerateLookupFailure) {
        await auth.stop();
        throw new Error(
          `unable to load configmap based request-header-client-ca-file: ${message} ` +
            "(set --authentication-tolerate-lookup-failure to start anyway, or pass --client-ca-file and " +
            "--requestheader-client-ca-file)",
        );
      } else {
        log.warning("Error looking up in-cluster authentication configuration", { err: message });
        log.warning(
          "Continuing without authentication configuration. This may treat all requests as anonymous.",
        );
        log.warning(
          "To require authentication configuration lookup to succeed, set --authentication-tolerate-lookup-failure=false",
        );
      }
    }
    // The watch keeps the CAs current (and retries on its own when the first lookup failed).
    auth.reflector = newConfigMapReflector(
      authnClient,
      AUTHENTICATION_CONFIGMAP_NAMESPACE,
      AUTHENTICATION_CONFIGMAP_NAME,
      () => auth.applyConfigMap(auth.reflector?.get(CONFIGMAP_KEY)),
    );
    auth.reflector.start();
    return auth;
  }

  private async lookup(client: KubeClient, opts: AuthOptions): Promise<void> {
    let cm: ConfigMap | undefined;
    try {
      cm = await getConfigMap(client, AUTHENTICATION_CONFIGMAP_NAMESPACE, AUTHENTICATION_CONFIGMAP_NAME);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) cm = undefined;
      else {
        if (err instanceof ApiError && err.status === 403)
          log.warning(
            `Unable to get configmap/${AUTHENTICATION_CONFIGMAP_NAME} in ${AUTHENTICATION_CONFIGMAP_NAMESPACE}. ` +
              `Usually fixed by 'kubectl create rolebinding -n ${AUTHENTICATION_CONFIGMAP_NAMESPACE} ROLEBINDING_NAME ` +
              `--role=${READER_ROLE} --serviceaccount=YOUR_NS:YOUR_SA'`,
          );
        throw err;
      }
    }
    this.fromConfigMap = cm ? parseAuthConfigMap(cm.data) : {};
    if (!opts.clientCaFile && !this.fromConfigMap.clientCAs)
      log.warning(
        `Cluster doesn't provide client-ca-file in configmap/${AUTHENTICATION_CONFIGMAP_NAME} in ` +
          `${AUTHENTICATION_CONFIGMAP_NAMESPACE}, so client certificate authentication won't work.`,
      );
    if (!opts.requestheaderClientCaFile && !this.fromConfigMap.requestHeader)
      log.warning(
        `Cluster doesn't provide requestheader-client-ca-file in configmap/${AUTHENTICATION_CONFIGMAP_NAME} in ` +
          `${AUTHENTICATION_CONFIGMAP_NAMESPACE}, so request-header client certificate authentication won't work.`,
      );
  }

  // A deleted ConfigMap takes its CAs with it; a malformed one leaves the last good configuration.
  private applyConfigMap(cm: ConfigMap | undefined): void {
    try {
      const next = keepUnchangedCAs(cm ? parseAuthConfigMap(cm.data) : {}, this.fromConfigMap);
      const changed =
        caDigest(next.clientCAs) !== caDigest(this.fromConfigMap.clientCAs) ||
        JSON.stringify(headerSummary(next.requestHeader)) !==
          JSON.stringify(headerSummary(this.fromConfigMap.requestHeader));
      this.fromConfigMap = next;
      if (changed)
        log.info("Loaded authentication configuration", {
          configmap: CONFIGMAP_KEY,
          clientCAs: next.clientCAs?.length ?? 0,
          requestHeaderCAs: next.requestHeader?.cas.length ?? 0,
        });
    } catch (err) {
      log.error(err, "Ignoring malformed authentication configuration; keeping the previous one", {
        configmap: CONFIGMAP_KEY,
      });
    }
  }

  private clientCAs() {
    return this.clientCAFile ? this.clientCAFile.current() : this.fromConfigMap.clientCAs;
  }

  // With --requestheader-client-ca-file every request-header setting comes from the flags; without
  // it, all of them come from the ConfigMap (kube-apiserver's behaviour for delegated servers).
  private requestHeader(): RequestHeaderConfig | undefined {
    if (this.requestHeaderCAFile)
      return { ...this.flagRequestHeader, cas: this.requestHeaderCAFile.current() };
    return this.fromConfigMap.requestHeader;
  }

  /** Who made the request: a user, or undefined when a presented credential was rejected. */
  async authenticate(req: AuthRequest): Promise<UserInfo | undefined> {
    const errors: string[] = [];
    const now = this.certificateNow();
    const steps: (() => AuthnResult | Promise<AuthnResult>)[] = [
      () => authenticateRequestHeader(req, this.requestHeader(), now, this.requestHeaderChains),
      () => authenticateClientCert(req, this.clientCAs(), now, this.clientCertChains),
      () => this.tokens.authenticate(req),
    ];
    for (const step of steps) {
      let r: AuthnResult;
      try {
        r = await step();
      } catch (err) {
        r = { kind: "error", error: err instanceof Error ? err.message : String(err) };
      }
      if (r.kind === "user") return withAuthenticatedGroup(r.user);
      if (r.kind === "error") errors.push(r.error);
    }
    if (errors.length > 0) {
      log.error(
        errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`,
        "Unable to authenticate the request",
      );
      return undefined;
    }
    return anonymousUser();
  }

  // Observed as k8s.io/apiserver's filters do: every authentication (anonymous is a success; a
  // rejected credential an error) and every authorization (a SubjectAccessReview that does not allow
  // is a "no-opinion" unless it denies outright).
  async check(req: AuthRequest): Promise<AuthDecision> {
    const authnStart = performance.now();
    const user = await this.authenticate(req);
    const authzStart = performance.now();
    observeAuthentication(user ? "success" : "error", user?.name, (authzStart - authnStart) / 1000);
    if (!user) return { allowed: false, status: 401, body: UNAUTHORIZED_BODY };
    const authorized = (result: AuthorizationResult): void =>
      observeAuthorization(result, (performance.now() - authzStart) / 1000);
    if (user.groups.includes(PRIVILEGED_GROUP) || this.alwaysAllow.allows(req.path)) {
      authorized("allowed");
      return { allowed: true, user };
    }
    const attrs = requestAttributes(req.method, req.path, req.query, user);
    try {
      const { decision, reason } = await this.sar.authorize(attrs);
      authorized(decision === "allow" ? "allowed" : decision === "deny" ? "denied" : "no-opinion");
      if (decision === "allow") return { allowed: true, user };
      log.V(4).info("Forbidden", { URI: requestURI(req), reason });
      return { allowed: false, status: 403, body: forbiddenBody(attrs, reason) };
    } catch (err) {
      authorized("error");
      const message = err instanceof Error ? err.message : String(err);
      log.error(err, "Failed to make webhook authorizer request");
      return {
        allowed: false,
        status: 500,
        contentType: "text/plain; charset=utf-8",
        body: `${sanitize(`Internal Server Error: ${goQuote(requestURI(req))}: ${message}`)}\n`,
      };
    }
  }

  /** The request-header client CAs in force (from the flag's file or the ConfigMap), for the self-check. */
  get requestHeaderCACount(): number {
    return this.requestHeader()?.cas.length ?? 0;
  }

  /** Full client-certificate chain verifications so far (cache misses), for tests and diagnostics. */
  get chainVerifications(): number {
    return this.clientCertChains.verifications + this.requestHeaderChains.verifications;
  }

  /** Stops the ConfigMap watch and the CA file checks. */
  async stop(): Promise<void> {
    this.clientCAFile?.stop();
    this.requestHeaderCAFile?.stop();
    await this.reflector?.stop();
  }
}

function caDigest(cas: readonly { fingerprint256: string }[] | undefined): string {
  return cas ? cas.map((c) => c.fingerprint256).join(",") : "";
}

/**
 * Every watch event re-parses the ConfigMap into new certificate objects; when a bundle did not
 * change, the previous objects are kept so the verification caches (keyed by them) stay warm.
 */
function keepUnchangedCAs(next: ConfigMapAuthConfig, previous: ConfigMapAuthConfig): ConfigMapAuthConfig {
  const out: ConfigMapAuthConfig = { ...next };
  if (next.clientCAs && previous.clientCAs && caDigest(next.clientCAs) === caDigest(previous.clientCAs))
    out.clientCAs = previous.clientCAs;
  if (
    next.requestHeader &&
    previous.requestHeader &&
    caDigest(next.requestHeader.cas) === caDigest(previous.requestHeader.cas)
  )
    out.requestHeader = { ...next.requestHeader, cas: previous.requestHeader.cas };
  return out;
}

function headerSummary(rh: RequestHeaderConfig | undefined): unknown {
  if (!rh) return null;
  return { ...rh, cas: caDigest(rh.cas) };
}
