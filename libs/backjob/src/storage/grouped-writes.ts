import { CallDeadline } from './call-deadline.js';

/** How the writes of one kind are grouped, and how each group is written. */
export interface WriteGrouping<T, R> {
  /** Writes a group, resolving one result per item, in order. */
  writeGroup: (items: T[]) => Promise<R[]>;
  /** Writes one item alone: for a group of one, and when a group failed. */
  writeOne: (item: T) => Promise<R>;
  maxItems: number;
  /**
   * Items with one key never share a group: two claims or two ends of one
   * job in one statement would both read as the one that changed the row.
   */
  keyOf?: (item: T) => string;
  /** What an item weighs (its size): a group stops before it passes `maxWeight`. */
  weightOf?: (item: T) => number;
  maxWeight?: number;
  /**
   * Whether the writes that arrive later in the turn of the event loop in
   * which a write went wait for the turn's end and go together: for a store
   * whose statements end before another write can arrive (SQLite, in the
   * process), where no group would form otherwise. Not for inserts:
   * `start()` called one after another would wait a turn each.
   */
  gatherTurn?: boolean;
  /**
   * How long a caller waits for its write: past `ms`, its promise rejects
   * with `error()`. A write still waiting for its turn is dropped; one
   * already sent goes on, and `late()` gets the item and what it wrote,
   * should it land after all. Kept by a `CallDeadline`: one timer for every
   * write under way, since a timer per call costs more than a row in a burst.
   */
  deadline?: {
    ms: number;
    error: () => Error;
    late: (item: T, result: R) => void;
  };
}

/**
 * Writes that arrive together are written together: one that arrives while
 * nothing is being written goes at once (a lone `start()` waits for
 * nothing), and those that arrive while a write is under way (or, with
 * `gatherTurn`, later in its turn of the event loop) form the next group.
 * One multi-row statement costs a database little more than one row, and
 * one commit: on PostgreSQL each commit waits for its WAL flush, so three
 * thousand single ones queue behind each other for seconds; on SQLite one
 * claim or end alone costs 30-70 µs, 8-25 in a group of eight.
 */
export class GroupedWrites<T, R> {
  private pending: Entry<T, R>[] = [];
  private writing = false;
  private readonly deadline: CallDeadline | undefined;

  constructor(private readonly grouping: WriteGrouping<T, R>) {
    const { deadline } = grouping;
    if (deadline) this.deadline = new CallDeadline(deadline.ms, deadline.error);
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry = new Entry(item, resolve, reject);
      entry.answered = this.deadline?.watch((error) =>
        this.giveUp(entry, error),
      );
      this.pending.push(entry);
      if (!this.writing) void this.flush();
    });
  }

  /**
   * Its caller waited long enough. Never sent, it is never written: a store
   * that hangs for minutes does not gather every start() of those minutes,
   * to write them all afterwards. Sent, it goes on, to `late()`.
   */
  private giveUp(entry: Entry<T, R>, error: Error): void {
    // Deadlines fall due in the order of arrival: the entry is at the head.
    const waiting = this.pending.indexOf(entry);
    if (waiting !== -1) this.pending.splice(waiting, 1);
    else entry.gaveUp = true;
    entry.reject(error);
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.pending.length > 0) await this.write(this.nextGroup());
    } finally {
      if (this.grouping.gatherTurn) setImmediate(this.endTurn);
      else this.writing = false;
    }
  }

  private readonly endTurn = (): void => {
    this.writing = false;
    if (this.pending.length > 0) void this.flush();
  };

  /** Takes the next group out of `pending`, in arrival order, within the limits. */
  private nextGroup(): Entry<T, R>[] {
    const { maxItems, keyOf, weightOf, maxWeight = Infinity } = this.grouping;
    const group: Entry<T, R>[] = [];
    const keys = new Set<string>();
    let weight = 0;
    const left: Entry<T, R>[] = [];
    for (const entry of this.pending) {
      const key = keyOf?.(entry.item);
      const itemWeight = weightOf?.(entry.item) ?? 0;
      const fits =
        group.length < maxItems &&
        (key === undefined || !keys.has(key)) &&
        (group.length === 0 || weight + itemWeight <= maxWeight);
      if (!fits) {
        left.push(entry);
        continue;
      }
      group.push(entry);
      weight += itemWeight;
      if (key !== undefined) keys.add(key);
    }
    this.pending = left;
    return group;
  }

  private async write(group: Entry<T, R>[]): Promise<void> {
    const { writeGroup, writeOne } = this.grouping;
    if (group.length > 1) {
      try {
        const results = await writeGroup(group.map((entry) => entry.item));
        group.forEach((entry, i) => this.written(entry, results[i]));
        return;
      } catch {
        // One row broke the statement (a merge key already held, a value the
        // database refuses): each row alone gets its own answer.
      }
    }
    await Promise.all(
      group.map((entry) =>
        writeOne(entry.item).then(
          (result) => this.written(entry, result),
          (error: unknown) => {
            entry.answered?.();
            entry.reject(error);
          },
        ),
      ),
    );
  }

  private written(entry: Entry<T, R>, result: R): void {
    entry.answered?.();
    if (entry.gaveUp) this.grouping.deadline!.late(entry.item, result);
    else entry.resolve(result);
  }
}

// A class, not an object literal: a burst's inserts outlive young
// collections, after which V8 may allocate every entry of this literal, its
// claims' and ends' too, straight into the old generation, where each one
// keeps its caller's promise from young collections after the write.
class Entry<T, R> {
  /** Ends its deadline's watch: the write has its answer. */
  answered?: () => void;
  /** Sent, then given up on: what it writes goes to `deadline.late()`. */
  gaveUp = false;

  constructor(
    readonly item: T,
    readonly resolve: (value: R) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}
