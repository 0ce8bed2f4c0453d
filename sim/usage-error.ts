// A bad command-line flag or fault spec: reported before anything starts (or as a 400 by /sim/faults).
export class UsageError extends Error {}
