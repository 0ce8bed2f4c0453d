// Public face of the options: the command line parsed into Options, or --help / --version text.
export { type Options, parseOptions } from "./parse.ts";
