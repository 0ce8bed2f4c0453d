// The contract between the generic HTTPS server and an API handler: a request reduced to what
// routing needs, and a response the server writes (streamed when it has chunks).

export interface ApiRequest {
  method: string;
  /** URL path without the query, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  accept: string | undefined;
}

export interface ApiResponse {
  status: number;
  contentType: string;
  /** JSON text, or bytes for protobuf. With `chunks`, the start of the body (often ""). */
  body: string | Buffer;
  /**
   * The rest of a large body, produced lazily piece by piece: the server writes `body`, then each
   * chunk in order, waiting for the client to drain and yielding to other requests in between.
   * Iterate it at most once. The full body is `body` followed by every chunk.
   */
  chunks?: Iterable<string | Buffer>;
  /**
   * A better answer that needs I/O first (a 404 explained with a live lookup): the server writes
   * what this resolves to instead. The fields above stay a complete answer for callers that do not
   * wait (unit tests). Never rejects.
   */
  refine?: () => Promise<ApiResponse>;
}

/** A response whose body is text (every Status is JSON text). */
export interface TextResponse extends ApiResponse {
  body: string;
}
