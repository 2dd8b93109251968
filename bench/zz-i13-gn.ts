import { groupNormBackward, groupNormForward } from '../stages/lib/tf-kernels/group-norm-loops.ts';
const n = 2, pixels = 64 * 64, c = 96, groups = 24;
const x = new Float32Array(n * pixels * c).map(() => Math.random() * 2 - 1);
const dy = new Float32Array(x.length).map(() => Math.random());
const gamma = new Float32Array(c).fill(1.2), beta = new Float32Array(c).fill(0.1);
const y = new Float32Array(x.length), dx = new Float32Array(x.length), dg = new Float32Array(c), db = new Float32Array(c);
const s = { n, pixels, channels: c, groups, epsilon: 1e-5, activation: 'relu6' as const };
const cpu = (f: () => void) => { const c0 = process.cpuUsage(); for (let i = 0; i < 10; i++) f(); const d = process.cpuUsage(c0); return (d.user + d.system) / 1000 / 10; };
for (let r = 0; r < 5; r++) {
  const f = cpu(() => groupNormForward(x, gamma, beta, s, y));
  const b = cpu(() => groupNormBackward(x, gamma, beta, dy, s, dx, dg, db));
  console.log(`cpu: fwd ${f.toFixed(2)} ms (${(f * 1e6 / x.length).toFixed(2)} ns/el), bwd ${b.toFixed(2)} ms (${(b * 1e6 / x.length).toFixed(2)} ns/el)`);
}
