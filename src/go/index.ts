// The Go-compatible formats, one home each: what upstream writes through Go's standard library and
// apimachinery, reproduced byte for byte.
export {
  formatGoDuration,
  formatGoDurationNs,
  msToNs,
  nsToMs,
  parseGoDuration,
  parseGoDurationNs,
} from "./duration.ts";
export { goJSONString, labelsJSON } from "./json.ts";
export { formatCpu, formatMemory, parseQuantity } from "./quantity.ts";
export { goQuote } from "./quote.ts";
