/**
 * Backpressure between the emulated table stream and its readers in the other thread. The
 * emulator thread sends at most `size` records that the readers' side has not yet acknowledged
 * (read by every cursor of their shard); the rest wait here, in the stream, as compact JSON text,
 * in write order. So a slow consumer (the matcher behind the ingest) leaves the records in the
 * stream, as DynamoDB Streams keeps them, instead of parsed in the consumers' memory.
 */
export class StreamWindow<T> {
  private readonly held: T[] = [];
  /** The first held record (dropping from the front of an array one by one would copy it each time). */
  private head = 0;

  constructor(
    private credit: number,
    private readonly send: (item: T) => void,
  ) {}

  /** Records made and not yet sent. */
  get heldBack(): number {
    return this.held.length - this.head;
  }

  offer(item: T): void {
    if (this.credit > 0 && this.heldBack === 0) {
      this.credit -= 1;
      this.send(item);
    } else this.held.push(item);
  }

  /** The readers' side acknowledged `records`: as many more may go. */
  grant(records: number): void {
    this.credit += records;
    while (this.credit > 0 && this.head < this.held.length) {
      this.credit -= 1;
      this.send(this.held[this.head]!);
      this.head += 1;
    }
    if (this.head >= 1_024 && this.head * 2 >= this.held.length) {
      this.held.splice(0, this.head);
      this.head = 0;
    }
  }
}
