// Measures how long scraping blocks the main thread's event loop, in-process (Scraper) versus in a
// worker thread (WorkerScraper), against N fake HTTPS kubelets on loopback that each serve P pods of
// C containers (gzip when asked). Not a test: numbers depend on the machine.
//
//   node bench/micro/scraper-worker.ts [nodes=300] [podsPerNode=30] [containersPerPod=2] [ticks=3]
import { monitorEventLoopDelay } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import type { Node } from "../../src/kube/index.ts";
import * as log from "../../src/log/index.ts";
import { KubeletClient, Scraper, WorkerScraper } from "../../src/scraper/index.ts";
import { selfSignedCert, startFakeKubelet } from "../../test/support/fake-kubelet.ts";
import { note, type Row, report } from "./report.ts";

const [nodeCount = 300, podsPerNode = 30, containersPerPod = 2, ticks = 3] = process.argv
  .slice(2)
  .map((a) => Number(a));

function body(node: number): Buffer {
  let out = "node_cpu_usage_seconds_total 1457.392812 1732741801205\n";
  out += "node_memory_working_set_bytes 1.113243648e+09 1732741801205\n";
  for (let p = 0; p < podsPerNode; p++) {
    for (let c = 0; c < containersPerPod; c++) {
      const labels = `{container="c${c}",namespace="ns-${p % 5}",pod="pod-${node}-${p}"}`;
      out += `container_cpu_usage_seconds_total${labels} ${1 + p + c / 10} 1732741798478\n`;
      out += `container_memory_working_set_bytes${labels} ${1e6 + p} 1732741798478\n`;
      out += `container_start_time_seconds${labels} 1.73273404711e+09\n`;
    }
  }
  return gzipSync(out);
}

async function main(): Promise<void> {
  log.setSink(() => {});
  const cert = await selfSignedCert(["127.0.0.1"]);
  const kubelets = await Promise.all(
    Array.from({ length: nodeCount }, async (_, i) => {
      const gz = body(i);
      return startFakeKubelet(cert, (_req, res) => {
        res.writeHead(200, { "content-encoding": "gzip" });
        res.end(gz);
      });
    }),
  );
  const nodes: Node[] = kubelets.map((k, i) => ({
    metadata: { name: `node-${i}` },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: k.port } },
      conditions: [{ type: "Ready", status: "True" }],
    },
  }));
  const common = {
    addressTypes: ["InternalIP"],
    port: 1,
    useNodeStatusPort: true,
    scheme: "https" as const,
    requestTimeoutMs: 60_000,
  };
  const client = new KubeletClient({ ca: Buffer.from(cert.certPem) });
  const inProcess = new Scraper({ ...common, client });
  const inWorker = new WorkerScraper({ ...common, ca: Buffer.from(cert.certPem) });

  const rows: Row[] = [];
  const measure = async (label: string, s: Scraper | WorkerScraper): Promise<void> => {
    for (let t = 0; t < ticks; t++) {
      const h = monitorEventLoopDelay({ resolution: 1 });
      // A 1 ms interval also records the longest gap between two of its runs.
      let last = performance.now();
      let longestGap = 0;
      const probe = setInterval(() => {
        const now = performance.now();
        longestGap = Math.max(longestGap, now - last);
        last = now;
      }, 1);
      h.enable();
      const start = performance.now();
      const batch = await s.scrape(nodes, AbortSignal.timeout(120_000));
      const took = performance.now() - start;
      h.disable();
      clearInterval(probe);
      const containers = batch.reduce((n, b) => n + b.containerCount, 0);
      rows.push({
        scraper: label,
        tick: t + 1,
        "tick ms": Math.round(took),
        nodes: batch.length,
        containers,
        "loop delay p50 ms": h.percentile(50) / 1e6,
        "p99 ms": h.percentile(99) / 1e6,
        "max ms": h.max / 1e6,
        "longest gap ms": longestGap,
      });
    }
  };
  await measure("in-process", inProcess);
  await measure("worker", inWorker);
  report(`scraping ${nodeCount} kubelets of ${podsPerNode} pods × ${containersPerPod} containers`, rows);
  note("tick 1 is cold (TLS handshakes); loop delay and gaps are the main thread's event loop");
  await inWorker.close();
  await client.close();
  await Promise.all(kubelets.map((k) => k.close()));
}

await main();
