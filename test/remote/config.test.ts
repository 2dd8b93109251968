/** pipe.remotes.yaml and its git-ignored local override. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadRemotes, pickRemote } from '../../src/remote/config.ts';

let root: string;
afterEach(async () => root && rm(root, { recursive: true, force: true }));

async function repo(files: Record<string, string>): Promise<string> {
  root = await mkdtemp(path.join(os.tmpdir(), 'pipe-remotes-'));
  for (const [f, t] of Object.entries(files)) await writeFile(path.join(root, f), t);
  return root;
}

describe('remote config', () => {
  it('reads the three kinds of url, relative folders from the repo root', async () => {
    const r = await repo({
      'pipe.remotes.yaml': [
        'default: nas',
        'remotes:',
        '  nas: { url: ../shared-cache }',
        '  lab: { url: "ssh://me@gpu-box:2222/srv/pipe cache", jobs: 2 }',
        '  home: { url: "ssh://gpu-box/~/cache" }',
        '  bucket: { url: s3://my-bucket/team/pipe/, region: eu-west-1 }',
      ].join('\n'),
    });
    const cfg = await loadRemotes(r);
    expect(cfg.ok).toBe(true);
    if (!cfg.ok) return;
    expect(cfg.value.remotes.get('nas')).toMatchObject({ type: 'fs', dir: path.resolve(r, '../shared-cache') });
    expect(cfg.value.remotes.get('lab')).toMatchObject({ type: 'ssh', user: 'me', host: 'gpu-box', port: 2222, dir: '/srv/pipe cache', jobs: 2 });
    expect(cfg.value.remotes.get('home')).toMatchObject({ type: 'ssh', host: 'gpu-box', dir: 'cache' });
    expect(cfg.value.remotes.get('bucket')).toMatchObject({ type: 's3', bucket: 'my-bucket', prefix: 'team/pipe', region: 'eu-west-1' });
    const picked = pickRemote(cfg.value, undefined, r);
    expect(picked.ok && picked.value.name).toBe('nas');
  });

  it('the local file overrides field by field (credentials, a mount point)', async () => {
    const r = await repo({
      'pipe.remotes.yaml': 'remotes:\n  bucket: { url: s3://b/p, region: eu-west-1 }\n  nas: { url: /mnt/lab }\n',
      'pipe.remotes.local.yaml': 'default: bucket\nremotes:\n  bucket: { accessKeyId: AK, secretAccessKey: SK }\n  nas: { url: /Volumes/lab }\n',
    });
    const cfg = await loadRemotes(r);
    if (!cfg.ok) throw new Error(cfg.error.message);
    expect(cfg.value.remotes.get('bucket')).toMatchObject({ region: 'eu-west-1', accessKeyId: 'AK', secretAccessKey: 'SK' });
    expect(cfg.value.remotes.get('nas')).toMatchObject({ dir: '/Volumes/lab' });
    expect(cfg.value.default).toBe('bucket');
  });

  it('mistakes point at the line; several remotes and no default asks for --remote', async () => {
    const bad = await loadRemotes(await repo({ 'pipe.remotes.yaml': 'remotes:\n  nas:\n    url: /x\n    port: "22"\n' }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.message).toMatch(/pipe\.remotes\.yaml: remotes\.nas\.port: /);
      expect(bad.error.span).toMatchObject({ line: 4 });
    }
    await rm(root, { recursive: true });
    const two = await loadRemotes(await repo({ 'pipe.remotes.yaml': 'remotes:\n  a: { url: /a }\n  b: { url: ftp://x/y }\n' }));
    expect(two.ok).toBe(false);
    if (!two.ok) expect(two.error.message).toContain('remote b: unknown kind of url');
    await rm(root, { recursive: true });
    const ok2 = await loadRemotes(await repo({ 'pipe.remotes.yaml': 'remotes:\n  a: { url: /a }\n  b: { url: /b }\n' }));
    if (!ok2.ok) throw new Error('expected ok');
    const p = pickRemote(ok2.value, undefined, root);
    expect(!p.ok && p.error.message).toContain('several remotes are declared (a, b) and none is the default');
    const q = pickRemote(ok2.value, 'c', root);
    expect(!q.ok && q.error.message).toContain('no remote named c (declared: a, b)');
  });
});
