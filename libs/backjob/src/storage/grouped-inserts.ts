/**
 * Inserts that arrive together are written together: one that arrives
 * while nothing is being written goes at once (a lone `start()` waits for
 * nothing), and those that arrive while a write is under way form the next
 * group. One multi-row statement costs a database little more than one
 * row; three thousand single ones queue behind each other for seconds.
 */
export class GroupedInserts<T, R> {
  private next: { item: T; settle: Settle<R> }[] = [];
  private writing = false;

  constructor(
    /** Writes a group, resolving one result per item, in order. */
    private readonly writeGroup: (items: T[]) => Promise<R[]>,
    /** Writes one item alone: for a group of one, and when a group failed. */
    private readonly writeOne: (item: T) => Promise<R>,
    private readonly maxGroup: number,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.next.push({ item, settle: { resolve, reject } });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.next.length > 0) {
        const group = this.next.splice(0, this.maxGroup);
        await this.write(group);
      }
    } finally {
      this.writing = false;
    }
  }

  private async write(group: { item: T; settle: Settle<R> }[]): Promise<void> {
    if (group.length > 1) {
      try {
        const results = await this.writeGroup(group.map((entry) => entry.item));
        group.forEach((entry, i) => entry.settle.resolve(results[i]));
        return;
      } catch {
        // One row broke the statement (a merge key already held, a value the
        // database refuses): each row alone gets its own answer.
      }
    }
    await Promise.all(
      group.map(({ item, settle }) =>
        this.writeOne(item).then(settle.resolve, settle.reject),
      ),
    );
  }
}

interface Settle<R> {
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}
