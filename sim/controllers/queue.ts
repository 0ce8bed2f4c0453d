// A controller's work queue: keys marked dirty by watch events are reconciled once per turn of the event
// loop, one at a time, so a burst of events costs one pass and a reconcile never races itself.

export class WorkQueue {
  private readonly dirty = new Set<string>();
  private running = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  private readonly reconcile: (key: string) => Promise<void> | void;
  private readonly log: (line: string) => void;
  constructor(reconcile: (key: string) => Promise<void> | void, log: (line: string) => void) {
    this.reconcile = reconcile;
    this.log = log;
  }

  add(key: string): void {
    if (this.closed) return;
    this.dirty.add(key);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0 && !this.closed) {
      const [key] = this.dirty;
      this.dirty.delete(key);
      try {
        await this.reconcile(key);
      } catch (err) {
        this.log(`${key}: ${(err as Error).message}`);
      }
    }
    this.running = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves once nothing is queued (tests). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.dirty.clear();
  }
}

/**
 * What every controller shares: a work queue of keys to reconcile, the watch subscriptions that fill
 * it, and idle() and close().
 */
export abstract class Controller {
  protected readonly queue: WorkQueue;
  private readonly subscriptions: (() => void)[] = [];

  constructor(name: string, log: (line: string) => void) {
    this.queue = new WorkQueue(
      (key) => this.reconcile(key),
      (line) => log(`${name}: ${line}`),
    );
  }

  protected abstract reconcile(key: string): Promise<void> | void;

  /** Keeps the unsubscribe functions of the controller's watches, for close(). */
  protected watch(...unsubscribe: (() => void)[]): void {
    this.subscriptions.push(...unsubscribe);
  }

  /** Resolves once nothing is queued (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  close(): void {
    for (const u of this.subscriptions.splice(0)) u();
    this.queue.close();
  }
}
