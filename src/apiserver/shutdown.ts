// Graceful shutdown of the listener, as Go's http.Server.Shutdown does under k8s.io/apiserver
// (staging/src/k8s.io/apiserver/pkg/server/secure_serving.go RunServer): stop accepting connections,
// let the requests in flight finish, close each connection once it is idle, and after a deadline cut
// whatever is left. Node's Http2SecureServer.close() already stops listening, closes idle HTTP/1.1
// connections and sends every HTTP/2 session a GOAWAY (NO_ERROR, with the last stream it processed)
// that lets its open streams finish; what it leaves to us is an HTTP/1.1 connection busy at that
// moment (it would stay kept-alive) and the deadline.
import type http2 from "node:http2";
import type { Socket } from "node:net";
import type { Req, Res } from "./response.ts";

interface Connections {
  /** Every TCP connection, TLS handshakes in progress included: what the deadline cuts. */
  sockets: Set<Socket>;
  /** HTTP/1.1 connections and how many of their requests are unanswered. */
  http1: Map<Socket, number>;
}

const tracked = new WeakMap<http2.Http2SecureServer, Connections>();

/**
 * Keeps what shutdownServer needs. Must be called before the request handler is attached: once the
 * server has stopped listening, an HTTP/1.1 response is sent with `Connection: close`.
 */
export function trackConnections(server: http2.Http2SecureServer): void {
  const c: Connections = { sockets: new Set(), http1: new Map() };
  tracked.set(server, c);
  server.on("connection", (socket: Socket) => {
    c.sockets.add(socket);
    socket.once("close", () => c.sockets.delete(socket));
  });
  server.on("request", (req: Req, res: Res) => {
    if (req.httpVersionMajor === 2) return;
    const socket = req.socket as unknown as Socket;
    c.http1.set(socket, (c.http1.get(socket) ?? 0) + 1);
    socket.once("close", () => c.http1.delete(socket));
    if (!server.listening) res.setHeader("connection", "close");
    res.once("close", () => {
      const left = (c.http1.get(socket) ?? 1) - 1;
      c.http1.set(socket, left);
      // A response that started before the shutdown went out without `Connection: close`: the end
      // of the connection tells the client not to send another request on it.
      if (left === 0 && !server.listening) socket.end();
    });
  });
}

/**
 * Stops accepting connections, lets the requests in flight finish for up to drainMs, then destroys
 * the connections still open. Resolves with how many had to be destroyed.
 */
export async function shutdownServer(server: http2.Http2SecureServer, drainMs: number): Promise<number> {
  const c = tracked.get(server);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (c) {
    for (const [socket, inFlight] of c.http1) if (inFlight === 0) socket.end();
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"deadline">((resolve) => {
    timer = setTimeout(() => resolve("deadline"), drainMs);
  });
  const outcome = await Promise.race([closed, deadline]);
  clearTimeout(timer);
  if (outcome !== "deadline" || !c) return 0;
  const left = c.sockets.size;
  for (const socket of c.sockets) socket.destroy();
  await closed;
  return left;
}
