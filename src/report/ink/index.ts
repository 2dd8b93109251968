/**
 * The only entry into Ink (Shopify cli-kit habit): commands get a Reporter
 * and never import Ink or React. This module owns the Ink instance: it
 * mounts it, redraws it, and is the one place that unmounts it.
 */
import { createElement } from 'react';
import { render, type Instance } from 'ink';
import type { PipeEvent, Reporter } from '../../events.ts';
import { shouldColor } from '../color.ts';
import { App } from './app.tsx';
import { applyEvent, emptyModel, isStructural } from './model.ts';
import type { ViewOptions } from './view.ts';

export interface InkReporterOptions {
  stdout: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  readSource?(file: string): string | undefined;
  /** Folder failure paths are shown relative to (default process.cwd()). */
  cwd?: string;
  /** Default: colour unless NO_COLOR (or the stream is not a terminal). */
  color?: boolean;
  /** Milliseconds since the epoch; tests pass a fixed clock. Default Date.now. */
  clock?: () => number;
  /** Redraw period while stages run (spinner, elapsed, ETA); default 250 ms (4 spinner frames a second is lively enough and cheap on 2 cores). */
  tickMs?: number;
  /** Ink's debug mode: every frame written in full, no cursor movement (for tests with a fake stream). */
  debug?: boolean;
}

/** Minimum gap between redraws caused by progress or log events. */
const COALESCE_MS = 80;

export function createInkReporter(o: InkReporterOptions): Reporter {
  const model = emptyModel();
  const clock = o.clock ?? Date.now;
  const color = o.color ?? shouldColor(o.stdout);
  let frame = 0;
  let ticker: NodeJS.Timeout | undefined;
  let closed = false;

  const tree = () => {
    const view: ViewOptions = {
      color,
      now: clock(),
      frame,
      columns: o.stdout.columns || 80,
      rows: o.stdout.rows || 24,
      ...(o.readSource ? { readSource: o.readSource } : {}),
      ...(o.cwd ? { cwd: o.cwd } : {}),
    };
    return createElement(App, { model, view });
  };

  const instance: Instance = render(tree(), {
    stdout: o.stdout,
    ...(o.stderr ? { stderr: o.stderr } : {}),
    debug: o.debug ?? false,
    // The CLI owns SIGINT (stop stages, restore outputs); Ink must not exit on its own.
    exitOnCtrlC: false,
    // In-process stages (tfjs) may console.log; Ink then prints it above the live rows instead of through them.
    patchConsole: !o.debug,
    kittyKeyboard: { mode: 'disabled' },
    // Not incrementalRendering: with <Static> output in between, Ink 6.8 left stale live rows on
    // screen (seen in tmux at 80x24); full redraws of a small live area are clean.
    maxFps: 20,
  });

  let lastDraw = 0;
  let pending: NodeJS.Timeout | undefined;
  const draw = (): void => {
    if (pending) clearTimeout(pending);
    pending = undefined;
    lastDraw = performance.now();
    if (!closed) instance.rerender(tree());
  };
  /**
   * Progress and log lines can arrive thousands of times a second: draw at
   * most every COALESCE_MS for them (structural events draw at once).
   */
  const requestDraw = (): void => {
    if (pending) return;
    const wait = COALESCE_MS - (performance.now() - lastDraw);
    if (wait <= 0) draw();
    else {
      pending = setTimeout(draw, wait);
      pending.unref();
    }
  };

  /** Ticks only while something runs, so an idle or finished UI costs nothing. */
  const syncTicker = (): void => {
    const running = !model.finished && [...model.rows.values()].some((r) => r.state === 'running');
    if (running && !ticker) {
      ticker = setInterval(() => {
        frame++;
        draw();
      }, o.tickMs ?? 250);
      // Never the reason the process stays alive.
      ticker.unref();
    } else if (!running && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };

  return {
    onEvent(e: PipeEvent) {
      if (closed) return;
      applyEvent(model, e);
      if (isStructural(e)) draw();
      else requestDraw();
      syncTicker();
    },
    async close() {
      if (closed) return;
      if (ticker) clearInterval(ticker);
      if (pending) clearTimeout(pending);
      ticker = undefined;
      draw();
      closed = true;
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
