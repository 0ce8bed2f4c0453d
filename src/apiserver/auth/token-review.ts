// Bearer-token authentication through the API server's TokenReview, answers cached for a TTL.
import { createHash } from "node:crypto";
import { createTokenReview, type KubeClient } from "../../kube/index.ts";
import { tokenReviewCall } from "../monitoring.ts";
import { TtlCache } from "./config.ts";
import type { AuthRequest, UserInfo } from "./types.ts";
import { type AuthnResult, NONE } from "./user.ts";

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
    const status = await tokenReviewCall((onStatus) =>
      createTokenReview(this.client, token, [], undefined, onStatus),
    );
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
