// The messages between WorkerScraper (main thread) and thread.ts (the scraper thread).

import type { NodeScrapeReport } from "../../storage/index.ts";
import type { ScrapeEndpoint } from "../endpoint.ts";
import type { KubeletClientOptions } from "../kubelet/index.ts";
import type { ScraperOptions } from "../scraper.ts";
import type { PackedScrapes } from "./packing.ts";

/** Everything the worker needs to build its KubeletClient and Scraper (functions cannot cross). */
export interface WorkerInit {
  client: Omit<KubeletClientOptions, "bearerToken">;
  /** The main side has a token source: each tick carries the current token. */
  hasBearerToken: boolean;
  scraper: Omit<ScraperOptions, "client" | "random" | "now" | "onReport" | "onDuplicatePods">;
  /** The main side wants each node's NodeScrapeReport (a "report" event). */
  reports: boolean;
  verbosity: number;
  /** A result message holds whole nodes up to about this many containers. */
  containersPerMessage: number;
}

export type ToWorker =
  | {
      type: "tick";
      id: number;
      /**
       * JSON of an array of the nodes with only the fields the scraper reads (null where the caller
       * passed something that is not a node). One string: structured clone of 5,000 small node
       * objects cost ~130-160 ms per tick between the two threads.
       */
      nodesJSON: string;
      verbosity: number;
      token?: string;
      /** Set when the token source failed: every request of the tick fails with it, as in-process. */
      tokenError?: string;
      aborted: boolean;
    }
  | { type: "abort"; id: number }
  /** The main thread has taken in the previous result message of tick `id` and wants the next one. */
  | { type: "next"; id: number }
  /** Test hook: throw an uncaught exception inside the worker. */
  | { type: "crash" };

export type WorkerEvent =
  | { kind: "log"; line: string }
  | { kind: "observe"; node: string; seconds: number; success: boolean; endTimeMs: number }
  | { kind: "forget"; node: string }
  /** A node's outcome in the tick (ScraperOptions.onReport), before the tick's last result. */
  | { kind: "report"; report: NodeScrapeReport };

export type FromWorker =
  /** Log lines and metric observations, in the order they happened. */
  | { type: "events"; events: WorkerEvent[] }
  | {
      type: "result";
      id: number;
      /** Whole nodes, packed (packing.ts), sent while the tick runs; null when there are none. */
      packed: PackedScrapes | null;
      /** Nodes that failed (or are not Ready) since the previous message. */
      failed?: string[];
      /** The scrape has ended (the rest of the tick's messages only drain). */
      done: boolean;
      last: boolean;
      /** On the last message: endpoint changes since the previous tick (null = forgotten). */
      endpoints?: [string, ScrapeEndpoint | null][];
    };
