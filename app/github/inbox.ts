/**
 * The webhook inbox: no delivery is lost, and a thread's deliveries keep their order on any number
 * of replicas. A delivery is stored before GitHub is answered; then the replica that stored it
 * works through its thread, oldest first. Each delivery is taken under a lease (renewed while its
 * work runs) and marked done only once that work succeeded. A failure is retried after a growing
 * backoff, holding the thread's later deliveries back, until `maxAttempts`, when it is given up
 * (logged) and the thread moves on. A replica that died mid-way loses its lease, and a sweep — at
 * start and on a timer, on every replica — takes what is due.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../db/client.js";
import {
  dueDeliveries,
  markDone,
  markFailed,
  oldestOpen,
  releaseLeases,
  renewLease,
  storeDelivery,
  takeDelivery,
  type DeliveryRow,
  type NewDelivery,
} from "../db/deliveries.js";
import { BoundedMap } from "../util/bounded-map.js";
import type { BackgroundTasks, Logger } from "../util/tasks.js";

export type DeliveryHandler = (delivery: DeliveryRow) => Promise<void>;

export interface InboxOptions {
  /** How long a taken delivery is held without a renewal; a dead replica's come back after this. */
  leaseMs?: number;
  maxAttempts?: number;
  /** The first retry's wait; it doubles per attempt, up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  sweepEveryMs?: number;
  /**
   * Deliveries handled at once by this replica. Storing a new delivery (GitHub waiting for its
   * answer) shares the database with the handling: a burst must not queue the stores behind it.
   */
  concurrency?: number;
  /**
   * Only this process uses the database (embedded PGlite): a lease found at start is a dead
   * process's, taken back at once instead of after it runs out.
   */
  exclusive?: boolean;
}

const DEFAULTS: Required<InboxOptions> = {
  leaseMs: 60_000,
  maxAttempts: 8,
  retryMs: 1_000,
  maxRetryMs: 60_000,
  sweepEveryMs: 10_000,
  concurrency: 8,
  exclusive: false,
};

export class WebhookInbox {
  /** This replica, as the holder of its leases. */
  private readonly owner = randomUUID();
  private readonly opts: Required<InboxOptions>;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** When each delivery reached the server, by id, until its request is answered. */
  private readonly arrivals = new BoundedMap<string, Date>(10_000);
  private readonly settling = new Set<() => void>();
  private closed = false;
  private running = 0;
  private readonly slots: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly handler: DeliveryHandler,
    private readonly tasks: BackgroundTasks,
    private readonly log: Logger,
    opts: InboxOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /**
   * Store a delivery (throws if it cannot be: GitHub must not get its 2xx), then work through its
   * thread in the background. False for a redelivery of one already stored.
   */
  async accept(delivery: NewDelivery): Promise<boolean> {
    const receivedAt = this.arrivals.get(delivery.id);
    const stored = await storeDelivery(this.db, { receivedAt, ...delivery });
    if (stored) this.kick(delivery.id, delivery.threadKey);
    return stored;
  }

  /**
   * A delivery reached the server (before its body is read and verified): its thread's order is
   * the order of arrival, not of the database writes that follow at their own pace under load.
   */
  arrived(id: string | undefined): void {
    if (id) this.arrivals.set(id, new Date());
  }

  /** Its request was answered: stored, refused or not worth keeping. */
  settled(id: string | undefined): void {
    if (!id || !this.arrivals.delete(id)) return;
    for (const wake of this.settling) wake();
  }

  /**
   * Until no delivery that reached this replica before `at` is still being stored: under load a
   * request's write can lag behind a later one's, and the thread's order must not skip it.
   * Bounded, so a client trickling a huge body holds nothing back for long.
   */
  private async earlierStored(at: Date): Promise<void> {
    const deadline = Date.now() + 5_000;
    const earlier = () => [...this.arrivals.values()].some((t) => t < at);
    while (earlier() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.settling.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 100);
        this.settling.add(wake);
      });
    }
  }

  /** Sweep now and every `sweepEveryMs`; returns the stop. */
  start(): () => void {
    const sweep = () => this.tasks.run("webhook inbox sweep", () => this.sweep());
    if (this.opts.exclusive)
      this.tasks.run("webhook inbox recovery", async () => {
        const n = await releaseLeases(this.db);
        if (n) this.log.warn({ deliveries: n }, `taking back ${n} webhook deliveries a previous run was handling`);
        await this.sweep();
      });
    else sweep();
    const timer = setInterval(sweep, this.opts.sweepEveryMs);
    timer.unref();
    return () => {
      this.closed = true;
      clearInterval(timer);
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
    };
  }

  /** Take whatever is due — a dead replica's, a retry whose wait is over, one never started. */
  async sweep(): Promise<void> {
    if (this.closed) return;
    const due = await dueDeliveries(this.db, 100);
    for (const { id, threadKey } of due) this.kick(id, threadKey);
  }

  private kick(id: string, threadKey: string | null): void {
    if (this.closed) return;
    this.tasks.run(`webhook ${id}`, () => (threadKey ? this.drainThread(threadKey) : this.attempt(id)));
  }

  /**
   * Handle the thread's open deliveries one by one, oldest first, until none is left, one is held
   * elsewhere (whoever holds it carries on after it), or one failed (it is retried after a wait).
   */
  private async drainThread(threadKey: string): Promise<void> {
    while (!this.closed) {
      const head = await oldestOpen(this.db, threadKey);
      if (!head) return;
      await this.earlierStored(head.receivedAt);
      if (!(await this.attempt(head.id))) return;
    }
  }

  /** Take and handle one delivery, in one of the replica's slots; true when it is done. */
  private async attempt(id: string): Promise<boolean> {
    // A finishing attempt hands its slot straight to the next waiting one.
    if (this.running < this.opts.concurrency) this.running++;
    else await new Promise<void>((r) => this.slots.push(r));
    try {
      return await this.attemptNow(id);
    } finally {
      const next = this.slots.shift();
      if (next) next();
      else this.running--;
    }
  }

  private async attemptNow(id: string): Promise<boolean> {
    const row = await takeDelivery(this.db, id, this.owner, this.opts.leaseMs);
    if (!row) return false;
    const renew = setInterval(() => {
      renewLease(this.db, id, this.owner, this.opts.leaseMs).catch(() => {});
    }, this.opts.leaseMs / 3);
    try {
      await this.handler(row);
    } catch (err) {
      await this.failed(row, err);
      return false;
    } finally {
      clearInterval(renew);
    }
    await markDone(this.db, id);
    return true;
  }

  private async failed(row: DeliveryRow, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const where = { delivery: row.id, event: row.event, attempt: row.attempts, err };
    if (row.attempts >= this.opts.maxAttempts) {
      this.log.error(where, `gave up on webhook delivery ${row.id} after ${row.attempts} attempts: ${message}`);
      await markFailed(this.db, row.id, message, "give up");
      // The thread's next delivery no longer waits for this one.
      this.kick(row.id, row.threadKey);
      return;
    }
    const retryInMs = Math.min(this.opts.maxRetryMs, this.opts.retryMs * 2 ** (row.attempts - 1));
    this.log.warn({ ...where, retryInMs }, `webhook delivery ${row.id} failed; retrying`);
    await markFailed(this.db, row.id, message, { retryInMs });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.kick(row.id, row.threadKey);
      // A little after the wait, which the database measures with its own clock.
    }, retryInMs + 100);
    timer.unref();
    this.timers.add(timer);
  }
}
