/**
 * Preloaded (`node --import ./bench/peak-rss.ts`) into a process whose peak
 * memory and CPU time a benchmark wants: at exit, writes
 * `{"peakRssBytes":…,"cpuMs":…}` (CPU: user + system, all threads) to the
 * file named by NFTPOL_BENCH_RSS_OUT.
 */
import { writeFileSync } from 'node:fs';

const out = process.env['NFTPOL_BENCH_RSS_OUT'];
if (out !== undefined && out !== '') {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    const cpuMs = Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000);
    writeFileSync(out, JSON.stringify({ peakRssBytes: usage.maxRSS * 1024, cpuMs }));
  });
}
