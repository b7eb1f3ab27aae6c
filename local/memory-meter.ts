/**
 * Memory of in-process workers. In Lambda each function has its own process, so a worker's peak
 * memory is its own. Locally every worker shares one heap: the process's growth during an
 * invocation includes whatever ran next to it (thumbnail intel decoding images while clip radar
 * polls). The meter shares each growth out among the invocations in flight when it happened, so an
 * invocation that ran alone is charged all of its growth and two that overlapped half each.
 * Still an approximation of a Lambda's memory, and documented as one.
 */
export interface MeteredInvocation {
  /** Bytes charged to this invocation so far (never negative): its `memoryRss` for the worker kit. */
  read(): number;
  end(): void;
}

export class SharedMemoryMeter {
  private lastRss: number;
  private readonly inFlight = new Set<{ growth: number }>();

  constructor(private readonly rss: () => number = () => process.memoryUsage.rss()) {
    this.lastRss = rss();
  }

  begin(): MeteredInvocation {
    this.settle();
    const charge = { growth: 0 };
    this.inFlight.add(charge);
    return {
      read: () => {
        this.settle();
        return Math.max(0, charge.growth);
      },
      end: () => {
        this.settle();
        this.inFlight.delete(charge);
      },
    };
  }

  /** Shares the growth since the last reading among the invocations in flight. */
  private settle(): void {
    const now = this.rss();
    const delta = now - this.lastRss;
    this.lastRss = now;
    if (this.inFlight.size === 0) return;
    const share = delta / this.inFlight.size;
    for (const charge of this.inFlight) charge.growth += share;
  }
}
