/**
 * The one clock: every part that reads the time or sets a timer (the
 * controller's engine, publisher, leader election and Event limits; the
 * executor's retries, drift ticks and counter intervals) takes a {@link Clock}
 * instead of calling `Date.now()` or `setTimeout` itself, so tests drive time
 * by hand (test/support/fake-clock.ts) and never sleep. It lives in
 * `telemetry/` because both the controller and the executor import it, and
 * they may not import each other.
 */

/** Time and timers; {@link SYSTEM_CLOCK} in production, a fake in tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for {@link Clock.clearTimer}. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: unknown): void;
}

/** The real clock: `Date.now` and Node's timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Lets the process exit while the timer `handle` is pending, when it is one of
 * Node's timers (a fake clock's handles are left alone): for periodic work
 * that must never keep a process alive on its own.
 */
export function unrefTimer(handle: unknown): void {
  if (typeof handle === 'object' && handle !== null && 'unref' in handle) {
    const unref = handle.unref;
    if (typeof unref === 'function') unref.call(handle);
  }
}
