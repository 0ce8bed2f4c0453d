// Public face of the options: the command line parsed into Options, or --help / --version text;
// flagReference() lists the flags for the generated docs/flags.md.
export { type FlagReference, flagReference, type Options, parseOptions } from "./parse.ts";
