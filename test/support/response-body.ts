// A metrics API response's whole body, its head followed by every chunk, as the server would write it.

/** The whole body of a response as text: `body` followed by every chunk (tests and benchmarks). */
export function responseText(res: { body: string | Buffer; chunks?: Iterable<string | Buffer> }): string {
  let text = typeof res.body === "string" ? res.body : res.body.toString("utf8");
  if (res.chunks)
    for (const chunk of res.chunks) text += typeof chunk === "string" ? chunk : chunk.toString("utf8");
  return text;
}

/** The whole body of a response as bytes: `body` followed by every chunk (tests and benchmarks). */
export function responseBytes(res: { body: string | Buffer; chunks?: Iterable<string | Buffer> }): Buffer {
  const parts: Buffer[] = [typeof res.body === "string" ? Buffer.from(res.body) : res.body];
  if (res.chunks)
    for (const chunk of res.chunks) parts.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts);
}
