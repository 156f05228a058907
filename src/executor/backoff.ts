/**
 * A doubling retry delay, one per thing the executor retries (a rejected
 * script, a status write, the host probe): the first failure waits
 * `firstMs`, each further one twice as long up to `maxMs`, and a success
 * starts over.
 */

/** A doubling delay between `firstMs` and `maxMs`. */
export class Backoff {
  private readonly firstMs: number;
  private readonly maxMs: number;
  private delayMs: number;

  constructor(firstMs: number, maxMs: number) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
    this.delayMs = firstMs;
  }

  /** The delay to wait now, in milliseconds; the next call returns twice as much (capped). */
  nextDelayMs(): number {
    const wait = this.delayMs;
    this.delayMs = Math.min(this.maxMs, this.delayMs * 2);
    return wait;
  }

  /** After a success: the next delay is `firstMs` again. */
  reset(): void {
    this.delayMs = this.firstMs;
  }
}
