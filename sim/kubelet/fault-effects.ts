// The part of the flap, not-ready and delete-mid-scrape kubelet faults that acts on the cluster: a node's Ready
// condition toggled, its Node object deleted and re-created, each undone when the fault is cleared.

import { randomUUID } from "node:crypto";
import type { KubeletView, SimNode } from "../types.ts";

/** What node faults change in the cluster (flap, delete-mid-scrape): done as the API server would. */
export interface NodeControl {
  setReady(name: string, ready: boolean): void;
  deleteNode(name: string): Promise<void>;
  addNode(node: SimNode): Promise<void>;
}

/** A node fault's running part: its timer, and what clearing the fault undoes. */
interface Effect {
  timer?: NodeJS.Timeout;
  undo(): Promise<void> | void;
}

export class FaultEffects {
  private readonly running = new Map<string, Effect>();
  /** Nodes whose Node object a delete-mid-scrape fault is deleting: their kubelet keeps running. */
  private readonly inDeletion = new Set<string>();
  private closed = false;

  private readonly view: KubeletView;
  private readonly control: NodeControl | undefined;
  private readonly log: (line: string) => void;

  constructor(view: KubeletView, control: NodeControl | undefined, log: (line: string) => void) {
    this.view = view;
    this.control = control;
    this.log = log;
  }

  /** Whether `node`'s Node object is being deleted by its fault (its kubelet must stay up). */
  deleting(node: string): boolean {
    return this.inDeletion.has(node);
  }

  /** Ends every effect without undoing it. */
  async close(): Promise<void> {
    this.closed = true;
    for (const name of [...this.running.keys()]) await this.stop(name, false);
  }

  /** Ends a node's running fault effect; with `undo`, also reverts what it did to the cluster. */
  async stop(node: string, undo: boolean): Promise<void> {
    const effect = this.running.get(node);
    if (!effect) return;
    this.running.delete(node);
    clearTimeout(effect.timer);
    clearInterval(effect.timer);
    if (undo) await effect.undo();
  }

  /** flap: the Node's Ready condition toggles every period; clearing restores the Ready it had. */
  startFlap(name: string, periodMs: number): void {
    let original: boolean | undefined;
    const timer = setInterval(() => {
      const node = this.view.node(name);
      if (!node) return;
      original ??= node.ready;
      this.control?.setReady(name, !node.ready);
    }, periodMs);
    timer.unref();
    this.running.set(name, {
      timer,
      undo: () => {
        if (original !== undefined && this.view.node(name)) this.control?.setReady(name, original);
      },
    });
  }

  /** not-ready: the Node's Ready condition is False until the fault is cleared, then as it was. */
  startNotReady(name: string): void {
    const original = this.view.node(name)?.ready;
    if (original === undefined) return;
    this.control?.setReady(name, false);
    this.running.set(name, {
      undo: () => {
        if (this.view.node(name)) this.control?.setReady(name, original);
      },
    });
  }

  /**
   * delete-mid-scrape: deletes the Node object (its kubelet keeps running, as a real one does) while
   * the request waits, then re-creates it (a new uid) after `afterMs`, or at once when cleared.
   */
  async deleteMidScrape(name: string, afterMs: number): Promise<void> {
    const node = this.view.node(name);
    const control = this.control;
    if (!node || !control || this.running.has(name)) return;
    this.inDeletion.add(name);
    try {
      await control.deleteNode(name);
    } finally {
      this.inDeletion.delete(name);
    }
    const recreate = async () => {
      this.running.delete(name);
      clearTimeout(timer);
      if (this.closed || this.view.node(name)) return;
      await control.addNode({ ...node, uid: randomUUID(), creationTimestampMs: Date.now() });
    };
    const timer = setTimeout(() => {
      recreate().catch((err: unknown) =>
        this.log(`kubelet ${name}: cannot re-create node: ${(err as Error).message}`),
      );
    }, afterMs);
    timer.unref();
    this.running.set(name, { timer, undo: recreate });
  }
}
