/** How push and pull progress reads, in every reporter. */
import type { PipeEvent } from '../events.ts';
import { formatDuration } from './format-table.ts';

/** 1536 -> "1.5 KB" (powers of 1024, one decimal under 10). */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${x < 10 ? x.toFixed(1) : Math.round(x)} ${units[i]}`;
}

type TransferEvent = Extract<PipeEvent, { type: 'transfer-started' | 'transfer-progress' | 'transfer-finished' }>;

const toFrom = (e: TransferEvent) => (e.direction === 'push' ? `push to ${e.remote}` : `pull from ${e.remote}`);

/** One line for a transfer event: what moves, how far it got, how fast. */
export function formatTransfer(e: TransferEvent): string {
  switch (e.type) {
    case 'transfer-started':
      return e.objects === 0
        ? `${toFrom(e)}: nothing to send${e.present ? ` (${e.present} already there)` : ''}`.replace('nothing to send', e.direction === 'push' ? 'nothing to send' : 'nothing to fetch')
        : `${toFrom(e)}: ${e.objects} file${e.objects === 1 ? '' : 's'}, ${formatBytes(e.bytes)}${e.present ? ` (${e.present} already there)` : ''}`;
    case 'transfer-progress': {
      const pct = e.totalBytes ? ` ${Math.floor((100 * e.bytes) / e.totalBytes)}%` : '';
      return `${toFrom(e)}:${pct} ${e.objects}/${e.totalObjects} files, ${formatBytes(e.bytes)}/${formatBytes(e.totalBytes)}, ${formatBytes(e.bytesPerSecond)}/s`;
    }
    case 'transfer-finished': {
      const rate = e.durationMs > 0 ? `, ${formatBytes(Math.round((e.bytes * 1000) / e.durationMs))}/s` : '';
      return `${toFrom(e)}: ${e.objects} file${e.objects === 1 ? '' : 's'}, ${formatBytes(e.bytes)} in ${formatDuration(e.durationMs)}${rate}`;
    }
  }
}
