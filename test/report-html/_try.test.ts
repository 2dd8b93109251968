import { it, expect } from 'vitest';
import { createReportWorkspace } from './workspace.ts';
it('try', async () => {
  const repo = await createReportWorkspace({ failDarkTraining: true });
  const r = await repo.pipe(['run', '--keep-going']);
  console.log(repo.root, r.code, r.stdout, r.stderr);
  const p = await repo.pipe(['report']);
  console.log(p.code, p.stdout, p.stderr);
  expect(p.code).toBe(0);
});
