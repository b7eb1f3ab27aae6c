/**
 * An append-only list of what a run records for its result (the symphony's score reports, health
 * sweeps, queue polls), read once the run has ended. In memory, or, for a run of days, appended to
 * a file as JSON lines and read back at the end: the heap then does not grow with the length of
 * the run while it runs. Items must survive a JSON round trip (plain data: no Sets, Dates or
 * undefined values).
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** Lines are appended this many at a time. */
const FLUSH_EVERY = 64;

export class RecordList<T> {
  private readonly pending: T[] = [];
  private count = 0;

  /** @param file the file to spill to (created on the first flush); undefined keeps every item in memory */
  constructor(private readonly file?: string) {}

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    this.pending.push(item);
    this.count++;
    if (this.file !== undefined && this.pending.length >= FLUSH_EVERY) this.flush();
  }

  /** Every item so far, in order: a new array (read back from the file when spilled). */
  all(): T[] {
    if (this.file === undefined) return [...this.pending];
    this.flush();
    if (this.count === 0) return [];
    const text = readFileSync(this.file, 'utf8');
    return text.length === 0 ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as T);
  }

  private flush(): void {
    if (this.file === undefined || this.pending.length === 0) return;
    appendFileSync(this.file, this.pending.map((item) => `${JSON.stringify(item)}\n`).join(''));
    this.pending.length = 0;
  }
}
