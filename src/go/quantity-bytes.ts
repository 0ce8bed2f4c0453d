// formatCpu / formatMemory (quantity.ts) written as ASCII straight into a byte buffer, for the
// common values (whole, non-negative, below 2^53): a large list has two or three quantities per
// container, and a string each was most of its garbage. Any other value returns -1 and the caller
// writes formatCpu / formatMemory's text instead.

// Decimal-SI suffixes by exponent / 3 + 3 (-9 → n … 6 → M): a value below 2^53 has at most 15
// trailing zeros, so nanocores never reach G.
const CPU_SUFFIXES = [0x6e, 0x75, 0x6d, 0, 0x6b, 0x4d]; // n u m "" k M
// Binary-SI suffixes by power of 1024 after the first ("Ki" … "Ei"), first letters.
const BINARY_SUFFIXES = [0x4b, 0x4d, 0x47, 0x54, 0x50, 0x45]; // K M G T P E

/** The decimal digits of a whole 0 ≤ n < 2^53 at buf[pos..]; returns the end. */
function writeDigits(buf: Uint8Array, pos: number, n: number): number {
  if (n > 0x7fffffff) return writeLargeDigits(buf, pos, n);
  // Small integers: int32 arithmetic, which V8 keeps off the floating-point path.
  let length = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) length++;
  let p = pos + length;
  let rest = n | 0;
  while (p > pos) {
    const q = (rest / 10) | 0;
    buf[--p] = 0x30 + rest - q * 10;
    rest = q;
  }
  return pos + length;
}

function writeLargeDigits(buf: Uint8Array, pos: number, n: number): number {
  let length = 1;
  for (let rest = n; rest >= 10; rest = (rest - (rest % 10)) / 10) length++;
  let p = pos + length;
  // `(n - n % 10) / 10` is exact below 2^53, where Math.floor(n / 10) can round up.
  for (let rest = n; p > pos; rest = (rest - (rest % 10)) / 10) buf[--p] = 0x30 + (rest % 10);
  return pos + length;
}

/** formatCpu(nanocores)'s text at buf[pos..] (room for 20 bytes); the end, or -1 (see above). */
export function writeCpuText(buf: Uint8Array, pos: number, nanocores: number): number {
  if (!(nanocores >= 0 && nanocores <= Number.MAX_SAFE_INTEGER && Number.isInteger(nanocores))) return -1;
  if (nanocores === 0) {
    buf[pos] = 0x30;
    return pos + 1;
  }
  let mantissa = nanocores;
  let exponent = -9;
  if (mantissa <= 0x7fffffff) {
    // int32 arithmetic: `%` on a double is a runtime call.
    let m = mantissa | 0;
    while (m >= 10 && m % 10 === 0) {
      m = (m / 10) | 0;
      exponent++;
    }
    mantissa = m;
  } else {
    while (mantissa >= 10 && mantissa % 10 === 0) {
      mantissa /= 10;
      exponent++;
    }
  }
  const excess = (exponent + 9) % 3;
  if (excess === 1) mantissa *= 10;
  else if (excess === 2) mantissa *= 100;
  if (mantissa > Number.MAX_SAFE_INTEGER) return -1;
  let p = writeDigits(buf, pos, mantissa);
  const suffix = CPU_SUFFIXES[(exponent - excess + 9) / 3];
  if (suffix !== 0) buf[p++] = suffix;
  return p;
}

/** formatMemory(bytes)'s text at buf[pos..] (room for 20 bytes); the end, or -1 (see above). */
export function writeMemoryText(buf: Uint8Array, pos: number, bytes: number): number {
  if (!(bytes >= 0 && bytes <= Number.MAX_SAFE_INTEGER && Number.isInteger(bytes))) return -1;
  // Below 1024 apimachinery writes decimal SI: the number itself, but 1000 is "1k".
  if (bytes < 1024) {
    if (bytes !== 1000) return writeDigits(buf, pos, bytes);
    buf[pos] = 0x31;
    buf[pos + 1] = 0x6b;
    return pos + 2;
  }
  let mantissa = bytes;
  let power = 0;
  // Dividing by 1024 is exact in floating point, so the remainder needs no `%` (a runtime call on
  // doubles).
  while (power < BINARY_SUFFIXES.length) {
    const quotient = Math.floor(mantissa / 1024);
    if (quotient * 1024 !== mantissa) break;
    mantissa = quotient;
    power++;
  }
  let p = writeDigits(buf, pos, mantissa);
  if (power > 0) {
    buf[p++] = BINARY_SUFFIXES[power - 1];
    buf[p++] = 0x69; // i
  }
  return p;
}
