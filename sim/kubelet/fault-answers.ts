// The transport faults of a kubelet: answers that break before or around the body (a reset, an error
// status, a truncated or oversized body, bytes that parse as nothing).

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FAULT_STATUS_CODES } from "../types.ts";

// Not Prometheus text (a line may not start with '<', and the labels are unterminated) nor JSON.
export const GARBAGE_BODY =
  "<html><body>upstream connect error</body></html>\nnode_cpu_usage_seconds_total{broken 1 x\n";

/** A huge body's size: far above any sane kubelet body (metrics-server caps them well below). */
export const HUGE_BODY_BYTES = 100 * 1024 * 1024;

const STATUS_TEXT: Record<(typeof FAULT_STATUS_CODES)[number], string> = {
  401: "Unauthorized",
  403: "Forbidden (simulated kubelet fault)",
  404: "404 page not found",
  500: "Internal Error: simulated kubelet failure",
  503: "Service Unavailable: simulated kubelet failure",
};

/** The plain-text answer of a `status:CODE` fault. */
export function statusFaultBody(code: (typeof FAULT_STATUS_CODES)[number]): string {
  return `${STATUS_TEXT[code]}\n`;
}

/**
 * Ends the connection at once with a TCP reset. A TLS socket cannot send one itself, so the reset goes
 * through the TCP socket under it: the one of `tcpSockets` (the server's "connection" sockets) with
 * the same peer.
 */
export function resetConnection(req: IncomingMessage, tcpSockets: Iterable<Socket>): void {
  const { remoteAddress, remotePort } = req.socket;
  let tcp: Socket = req.socket;
  for (const s of tcpSockets) if (s.remotePort === remotePort && s.remoteAddress === remoteAddress) tcp = s;
  try {
    tcp.resetAndDestroy();
  } catch {
    req.socket.destroy(); // not a TCP socket after all: a plain close is the next best thing
  }
}

/** A Content-Length for the whole body, then its first half, then the connection closed. */
export function sendTruncated(res: ServerResponse, contentType: string, body: Buffer): void {
  res.writeHead(200, { "Content-Type": contentType, "Content-Length": body.length });
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
}

/**
 * The healthy body, then padding the format ignores (comment lines for text, whitespace after the
 * JSON) up to HUGE_BODY_BYTES, written with backpressure so it is never held in memory at once.
 */
export async function sendHuge(res: ServerResponse, contentType: string, body: Buffer): Promise<void> {
  const text = contentType.startsWith("text/plain");
  const line = text ? `#${" ".repeat(1022)}\n` : `${" ".repeat(1023)}\n`;
  const chunk = Buffer.from(line.repeat(1024)); // 1 MiB
  // Whole padding lines only (a text body ends with a newline, so each starts a line of its own).
  const total =
    body.length + Math.max(0, Math.ceil((HUGE_BODY_BYTES - body.length) / line.length)) * line.length;
  res.writeHead(200, { "Content-Type": contentType, "Content-Length": total });
  res.write(body);
  let left = total - body.length;
  while (left > 0 && !res.destroyed) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(chunk.length - left);
    left -= piece.length;
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  res.end();
}
