/** Small statistics helpers shared by the benchmarks. */

/** The q-quantile (0–1) of `xs` by nearest rank; 0 for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Bytes as a short human string. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The machine a figure was measured on, to print beside it. */
export function machineNote(): string {
  return `node ${process.version}, ${process.arch}`;
}
