// Kubelet fault SPECs ("hang", "delay:5s", "status:503", ...): parsed from --fault and POST /sim/faults,
// listed by --help.
import { parseDuration } from "../duration.ts";
import { BODY_FAULT_KINDS, FAULT_STATUS_CODES, type KubeletFault } from "../types.ts";
import { UsageError } from "../usage-error.ts";

/** Every kubelet fault SPEC with what it does, one line each (--help and the 400s list them). */
export const FAULT_KIND_HELP: readonly (readonly [string, string])[] = [
  ["hang", "accept the request, never answer"],
  ["delay:DUR", "answer (correctly) only after DUR, e.g. delay:5s"],
  ["reset", "reset the connection when a request arrives"],
  ["refuse", "stop listening: connections are refused (clearing listens again)"],
  ["status:CODE", "answer CODE = 401 | 403 | 404 | 500 | 503 (http500 = status:500)"],
  ["truncated", "promise the whole body (Content-Length), send half, close"],
  ["garbage", "200 with bytes that are neither exposition text nor JSON"],
  ["huge", "a ~100 MiB body (the healthy one, then padding), streamed"],
  ["nan", "NaN for the targets' CPU and memory (null in the Summary API)"],
  ["inf", "+Inf CPU, -Inf memory for the targets (1e999, -1e999 in the Summary API)"],
  ["negative", "negative CPU counters and memory for the targets"],
  ["absurd-cpu", "the targets' CPU counters advance 10x faster than the node's cores"],
  ["absurd-memory", "the targets' memory is 4x the node's memory capacity"],
  ["counter-reset", "all the node's CPU counters restart from 0 (a reboot; kept when cleared)"],
  ["duplicate-series", "the targets' series twice in the body, the second with other values"],
  ["no-timestamp", 'samples without timestamps (no Summary API "time" fields)'],
  ["future-timestamp", "timestamps an hour ahead"],
  ["backwards-timestamp", "each scrape's timestamps a minute earlier than the last one's"],
  ["missing-families", "no node_/container_memory_working_set_bytes (no Summary API memory)"],
  ["zero-cpu", "CPU 0 for the node and the first container of its first pod (cri-o's fresh containers)"],
  ["zero-memory", "memory 0 for the node and the first container of its first pod"],
  ["flap:DUR", "the Node's Ready condition toggles every DUR (watches see it)"],
  ["not-ready", "the Node's Ready condition is False while set (clearing restores it)"],
  ["delete-mid-scrape[:DUR]", "a scrape deletes the Node object, answers, re-creates it after DUR (5s)"],
  ["tls-expired", "serve an expired certificate (open connections are closed)"],
  ["wrong-ca", "serve a certificate from a CA the cluster does not know"],
  ["wrong-name", "serve a certificate that names neither the node nor its addresses"],
];

const FAULT_KINDS_TEXT = FAULT_KIND_HELP.map(([spec]) => spec).join(", ");

/** Parses a kubelet fault SPEC (see FAULT_KIND_HELP); throws UsageError naming every kind. */
export function parseFaultSpec(spec: string): KubeletFault {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? undefined : spec.slice(colon + 1);
  const bad = (why: string) =>
    new UsageError(`invalid fault ${JSON.stringify(spec)}: ${why}; want one of ${FAULT_KINDS_TEXT}`);
  const duration = (): number => {
    let ms: number;
    try {
      ms = parseDuration(arg ?? "");
    } catch {
      throw bad(`${kind} needs a duration such as 5s`);
    }
    if (!(ms > 0) || ms > 24 * 3_600_000) throw bad(`${kind} needs a duration in (0, 24h]`);
    return ms;
  };
  const noArg = <F extends KubeletFault>(f: F): F => {
    if (arg !== undefined) throw bad(`${kind} takes no argument`);
    return f;
  };
  switch (kind) {
    case "hang":
    case "reset":
    case "refuse":
    case "truncated":
    case "garbage":
    case "huge":
    case "tls-expired":
    case "wrong-ca":
    case "wrong-name":
    case "not-ready":
      return noArg({ kind });
    case "http500":
      return noArg({ kind: "status", code: 500 });
    case "delay":
      return { kind, ms: duration() };
    case "flap":
      return { kind, periodMs: duration() };
    case "delete-mid-scrape":
      return { kind, recreateAfterMs: arg === undefined ? 5000 : duration() };
    case "status": {
      const code = FAULT_STATUS_CODES.find((c) => String(c) === arg);
      if (code === undefined) throw bad(`status needs one of ${FAULT_STATUS_CODES.join(", ")}`);
      return { kind, code };
    }
  }
  const body = BODY_FAULT_KINDS.find((k) => k === kind);
  if (body === undefined) throw bad("unknown kind");
  return noArg({ kind: body });
}

/** The canonical SPEC of a fault (what GET /sim/faults shows). */
export function faultSpec(f: KubeletFault): string {
  switch (f.kind) {
    case "delay":
      return `delay:${f.ms}ms`;
    case "status":
      return `status:${f.code}`;
    case "flap":
      return `flap:${f.periodMs}ms`;
    case "delete-mid-scrape":
      return `delete-mid-scrape:${f.recreateAfterMs}ms`;
    default:
      return f.kind;
  }
}
