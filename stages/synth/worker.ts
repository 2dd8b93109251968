/**
 * Worker-thread entry: renders scene indices it is sent and posts the frames
 * back, transferring the pixel buffers. Encoding and writing stay in the
 * parent (sharp runs on libuv's threads there anyway).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { renderIndex } from './render.ts';
import type { Condition, SynthParams } from './params.ts';

/** What the parent passes as `workerData.data`. */
export interface SynthWorkerData {
  params: SynthParams;
  conditions: Condition[];
}

const { params, conditions } = (workerData as { data: SynthWorkerData }).data;
const port = parentPort;
if (!port) throw new Error('stages/synth/worker.ts must run in a worker thread');

port.on('message', (index: number) => {
  const frames = renderIndex(params, index, conditions);
  port.postMessage(
    { index, frames },
    frames.flatMap((f) => [f.image.buffer as ArrayBuffer, f.mask.buffer as ArrayBuffer]),
  );
});
