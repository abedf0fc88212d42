/**
 * What a run holds in memory, as a person sizing a machine needs it: the process's peak RSS
 * (both threads; `pnpm start` starts no child process) and the live heap, read right after each
 * full collection. V8 lets a heap grow well past its live data before it collects, so the heap's
 * size at any other moment says little about what the run actually keeps.
 */
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";

/** The live heap of this thread (isolate) after its full collections: the latest and the largest. */
export class HeapAfterGc {
  latest = 0;
  peak = 0;
  private readonly observer: PerformanceObserver;

  /** `onChange` hears each new reading (the emulator thread forwards them to the main thread). */
  constructor(onChange?: (bytes: number) => void) {
    this.observer = new PerformanceObserver((list) => {
      if (
        !list
          .getEntries()
          .some(
            (entry) => (entry.detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR,
          )
      )
        return;
      this.latest = getHeapStatistics().used_heap_size;
      this.peak = Math.max(this.peak, this.latest);
      onChange?.(this.latest);
    });
    this.observer.observe({ entryTypes: ["gc"] });
  }

  stop(): void {
    this.observer.disconnect();
  }
}

/** The process's largest resident set so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
