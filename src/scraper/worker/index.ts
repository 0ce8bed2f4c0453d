// The Scraper in a worker thread, and how its results are packed to cross to the main thread.
export { splitScraperOptions, type WorkerScraperOptions } from "./options.ts";
export { packBatch, unpackMessage } from "./packing.ts";
export { WorkerScraper } from "./worker-scraper.ts";
