/** Keeps the last `max` lines (a process's stderr) for failure messages, in bounded memory. */
export class TailBuffer {
  private buf: string[] = [];
  constructor(private readonly max: number) {}

  push(line: string): void {
    this.buf.push(line);
    if (this.buf.length > this.max) this.buf.shift();
  }

  lines(): string[] {
    return [...this.buf];
  }
}
