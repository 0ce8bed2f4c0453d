// The Go-compatible formats, one home each: what upstream writes through Go's standard library and
// apimachinery, reproduced byte for byte, and the command line it reads through spf13/pflag.
export {
  formatGoDuration,
  formatGoDurationNs,
  msToNs,
  nsToMs,
  parseGoDuration,
  parseGoDurationNs,
} from "./duration.ts";
export { humanDuration } from "./human-duration.ts";
export { goJSONString, labelsJSON } from "./json.ts";
export { type Flag, FlagError, FlagSet, type FlagSpec, specs } from "./pflag.ts";
export type { FlagType } from "./pflag-values.ts";
export { formatCpu, formatMemory, parseQuantity } from "./quantity.ts";
export { writeCpuText, writeMemoryText } from "./quantity-bytes.ts";
export { goQuote } from "./quote.ts";
export { parseGoFloat, parseGoInt } from "./strconv.ts";
export { formatTimestamp } from "./timestamp.ts";
