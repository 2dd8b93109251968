/**
 * The `pipe` command line. Parses arguments, runs one command, and turns any
 * bug that escaped as an exception into a message at this one boundary.
 */
import { parseArgs } from 'node:util';
import type { CliIO } from './io.ts';
import { EXIT } from './io.ts';

const HELP = `pipe — a cached, parallel pipeline runner for computer-vision experiments

Usage: pipe <command> [options]

Commands:
  run [stage...]       run stages whose inputs, params or code changed (and their upstream)
      --force            run even if up to date       --dry-run      show the plan only
      --jobs N           parallel CPU slots (default: number of cores)
      --gpus LIST        GPU ids, e.g. 0,1 (default: nvidia-smi -L, else none; 'none' for none)
      --keep-going       run what does not depend on a failure
      --no-wait          refuse instead of waiting when another run holds the repo
      --executor NAME    where stages run: local, or slurm (batch jobs; overrides pipeline.yaml's executor:)
      --pull             fetch a stage's outputs from the remote when it has them, instead of running it
  status [stage...]    every stage as up to date / stale / never run, and why
      --remote[=NAME]    instead: per stage, what the remote has and lacks
  push [stage...]      upload the cache objects, manifests and run records the lock refers to
  pull [stage...]      download them from the remote and check the outputs out
  dag                  the stage graph (--mermaid or --dot for diagrams)
  metrics              all metrics files as a table
  metrics diff [REV]   metrics now against those recorded in pipeline.lock at git REV (default HEAD)
  params diff [REV]    params in pipeline.yaml against those recorded in pipeline.lock at REV
  report               write report/index.html: results, curves, samples, graph, params, data previews
  checkout [stage...]  put the outputs recorded in pipeline.lock back from the cache
  gc                   remove cache objects nothing refers to (--dry-run, --keep-days N)

Global options:
  -f, --file FILE      pipeline file (default: pipeline.yaml in this or a parent folder)
  --remote NAME        the remote for push, pull, status and run --pull (default: the one in pipe.remotes.yaml)
  --json               machine-readable output (JSON lines for run)
  -h, --help           this help        --version   print the version
`;

const OPTIONS = {
  file: { type: 'string', short: 'f' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  jobs: { type: 'string', short: 'j' },
  gpus: { type: 'string' },
  'keep-going': { type: 'boolean', short: 'k', default: false },
  'no-wait': { type: 'boolean', default: false },
  executor: { type: 'string' },
  mermaid: { type: 'boolean', default: false },
  dot: { type: 'boolean', default: false },
  'keep-days': { type: 'string' },
  remote: { type: 'string' },
  pull: { type: 'boolean', default: false },
} as const;

/** `--remote` without a value (`pipe status --remote`) means the default remote. */
function bareRemote(argv: string[]): string[] {
  return argv.map((a, i) => (a === '--remote' && (i === argv.length - 1 || argv[i + 1]!.startsWith('-')) ? '--remote=' : a));
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: bareRemote(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`pipe: ${(e as Error).message}\nRun 'pipe --help' for usage.\n`);
    return EXIT.usage;
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.version) {
    const { packageRoot } = await import('../stages/registry.ts');
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
    io.stdout.write(`pipe ${pkg.version}\n`);
    return EXIT.ok;
  }
  if (v.help || !command) {
    (command || v.help ? io.stdout : io.stderr).write(HELP);
    return v.help ? EXIT.ok : EXIT.usage;
  }
  const file = v.file;
  const common = file ? { file } : {};
  const remote = { ...common, json: v.json, ...(v.remote ? { remote: v.remote } : {}) };
  switch (command) {
    case 'run': {
      const { runCommand } = await import('./commands/run.ts');
      return runCommand(io, rest, {
        ...common,
        force: v.force,
        dryRun: v['dry-run'],
        ...(v.jobs !== undefined ? { jobs: v.jobs } : {}),
        ...(v.gpus !== undefined ? { gpus: v.gpus } : {}),
        keepGoing: v['keep-going'],
        json: v.json,
        wait: !v['no-wait'],
        ...(v.executor !== undefined ? { executor: v.executor } : {}),
        pull: v.pull,
        ...(v.remote ? { remote: v.remote } : {}),
      });
    }
    case 'status': {
      if (v.remote !== undefined) {
        const { remoteStatusCommand } = await import('./commands/remote.ts');
        return remoteStatusCommand(io, rest, remote);
      }
      const { statusCommand } = await import('./commands/status.ts');
      return statusCommand(io, rest, { ...common, json: v.json });
    }
    case 'dag': {
      const { dagCommand } = await import('./commands/dag.ts');
      return dagCommand(io, { ...common, format: v.mermaid ? 'mermaid' : v.dot ? 'dot' : 'text' });
    }
    case 'metrics': {
      if (rest[0] === 'diff') {
        const { metricsDiffCommand } = await import('./commands/metrics-diff.ts');
        return metricsDiffCommand(io, rest.slice(1), { ...common, json: v.json });
      }
      const { metricsCommand } = await import('./commands/metrics.ts');
      return metricsCommand(io, { ...common, json: v.json });
    }
    case 'params': {
      if (rest[0] !== 'diff') {
        io.stderr.write(`pipe params: expected 'diff' (pipe params diff [REV])\nRun 'pipe --help' for usage.\n`);
        return EXIT.usage;
      }
      const { paramsDiffCommand } = await import('./commands/params-diff.ts');
      return paramsDiffCommand(io, rest.slice(1), { ...common, json: v.json });
    }
    case 'report': {
      const { reportCommand } = await import('./commands/report.ts');
      return reportCommand(io, rest, common);
    }
    case 'checkout': {
      const { checkoutCommand } = await import('./commands/checkout.ts');
      return checkoutCommand(io, rest, common);
    }
    case 'push': {
      const { pushCommand } = await import('./commands/remote.ts');
      return pushCommand(io, rest, remote);
    }
    case 'pull': {
      const { pullCommand } = await import('./commands/remote.ts');
      return pullCommand(io, rest, remote);
    }
    case 'gc': {
      const { gcCommand } = await import('./commands/gc.ts');
      return gcCommand(io, { ...common, dryRun: v['dry-run'], ...(v['keep-days'] !== undefined ? { keepDays: v['keep-days'] } : {}) });
    }
    default:
      io.stderr.write(`pipe: unknown command '${command}'\nRun 'pipe --help' for usage.\n`);
      return EXIT.usage;
  }
}
