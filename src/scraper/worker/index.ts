// The Scraper in a worker thread, and how its results are packed to cross to the main thread.
export { packBatch, unpackMessage } from "./packing.ts";
export { splitScraperOptions, WorkerScraper, type WorkerScraperOptions } from "./worker-scraper.ts";
