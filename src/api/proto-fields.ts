// The fields protobuf.ts and protobuf-items.ts both write: label and usage maps in Go's key order,
// metav1.Time and the JSON texts (times, durations) they are given as, parsed once per distinct text.

import { parseGoDurationNs } from "../go/index.ts";
import { LEN, type ProtoWriter, tag, VARINT } from "./proto-writer.ts";

type StringMap = Readonly<Record<string, string>>;

// ---------------------------------------------------------------------------------------------
// JSON text → numbers

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Remembers recent parses: the items of one response share a handful of texts (creation time,
 * scrape times, windows), and parsing each of 150,000 items anew would dominate the encoding.
 */
class ParseCache {
  private readonly entries = new Map<string, number>();
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get(text: string, parse: (text: string) => number): number {
    const cached = this.entries.get(text);
    if (cached !== undefined) return cached;
    const value = parse(text);
    // Dropping everything when full keeps the cache bounded with no bookkeeping per hit.
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(text, value);
    return value;
  }
}

const timeCache = new ParseCache(256);
const durationCache = new ParseCache(4096);

/** Unix seconds of an RFC 3339 time, fraction dropped (Go's Time.Unix()). Throws on bad text. */
export function timeSeconds(text: string): number {
  return timeCache.get(text, parseTimeSeconds);
}

function parseTimeSeconds(text: string): number {
  const m = RFC3339.exec(text);
  if (m === null) throw new TypeError(`invalid RFC 3339 time ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (
    month < 1 ||
    month > 12 ||
    date.getUTCDate() !== day ||
    date.getUTCMonth() !== month - 1 ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new TypeError(`invalid RFC 3339 time ${JSON.stringify(text)}: field out of range`);
  }
  let seconds = date.getTime() / 1000;
  if (m[7] !== undefined) {
    const offset = Number(m[8]) * 3600 + Number(m[9]) * 60;
    seconds += m[7] === "+" ? -offset : offset;
  }
  return seconds;
}

/** Nanoseconds of a Go duration string ("15.006s", "1m0.5s", "-2h", "0"), as time.ParseDuration. */
export function durationNanos(text: string): number {
  return durationCache.get(text, parseDurationNanos);
}

function parseDurationNanos(text: string): number {
  let ns: bigint;
  try {
    ns = parseGoDurationNs(text);
  } catch {
    throw new TypeError(`invalid Go duration ${JSON.stringify(text)}`);
  }
  return Number(ns);
}

// ---------------------------------------------------------------------------------------------
// Messages

/** Go's sort.Strings order: UTF-8 byte order, which differs from UTF-16 order only above U+D7FF. */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates stand for code points above U+FFFF, whose UTF-8 sorts after U+E000..U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function sortedKeys(map: StringMap): string[] {
  const keys = Object.keys(map);
  for (let i = 1; i < keys.length; i++) {
    if (compareUtf8(keys[i - 1], keys[i]) > 0) return keys.sort(compareUtf8);
  }
  return keys;
}

/** map<string, string> (labels). */
export function writeStringMap(w: ProtoWriter, field: number, map: StringMap | undefined): void {
  if (!map) return;
  const entryTag = tag(field, LEN);
  for (const key of sortedKeys(map)) {
    const entry = w.begin(entryTag);
    w.string(tag(1, LEN), key);
    w.string(tag(2, LEN), map[key]);
    w.end(entry);
  }
}

/** map<string, resource.Quantity> (usage). */
export function writeQuantityMap(w: ProtoWriter, field: number, map: StringMap | undefined): void {
  if (!map) return;
  const entryTag = tag(field, LEN);
  for (const key of sortedKeys(map)) {
    const entry = w.begin(entryTag);
    w.string(tag(1, LEN), key);
    const quantity = w.begin(tag(2, LEN));
    w.string(tag(1, LEN), map[key]);
    w.end(quantity);
    w.end(entry);
  }
}

/** meta/v1 Time {seconds=1, nanos=2}; JSON null (the zero time) is an empty message. */
export function writeTime(w: ProtoWriter, field: number, text: string | null | undefined): void {
  const time = w.begin(tag(field, LEN));
  if (text !== null && text !== undefined) {
    w.int64(tag(1, VARINT), timeSeconds(text));
    w.int64(tag(2, VARINT), 0);
  }
  w.end(time);
}
