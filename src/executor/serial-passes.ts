/**
 * One pass at a time, and never a request lost: a watch event, a drift tick,
 * a probe result or a retry timer only asks for a pass. A request made while
 * a pass runs makes one more pass after it (however many came), so every
 * change is seen by a pass that started after it, and there is never an
 * apply racing a drift check.
 */

/** Runs `pass` serially on request; see the file header. */
export class SerialPasses {
  private readonly pass: () => Promise<void>;
  /** Called with what a pass threw; the loop goes on. */
  private readonly onError: (err: unknown) => void;
  /** Called after each pass, thrown or not. */
  private readonly onDone: () => void;
  private pending = false;
  private stopped = false;
  private running: Promise<void> | null = null;

  constructor(pass: () => Promise<void>, onError: (err: unknown) => void, onDone: () => void) {
    this.pass = pass;
    this.onError = onError;
    this.onDone = onDone;
  }

  /** Asks for a pass. @returns a promise that settles when the loop is idle again. */
  request(): Promise<void> {
    this.pending = true;
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves once no pass runs or is asked for (at once when idle). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /** Runs no further pass; resolves once the one running (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.stopped) {
      this.pending = false;
      try {
        await this.pass();
      } catch (err) {
        this.onError(err);
      }
      this.onDone();
    }
  }
}
