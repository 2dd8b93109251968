/**
 * The Snakemake side of the runner benchmarks (noop.ts, scale.ts): the same two rules as their pipe pipelines,
 * a per-file `cp` from data/ to smk_work/ and an aggregate `find | wc -l`, with its outputs made up to date
 * (copied after the inputs exist, so newer), so `snakemake -n` has nothing to do.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export const SNAKEFILE = `import glob
IDS = [p[len("data/"):-len(".txt")] for p in glob.glob("data/*/*.txt")]
rule all:
    input: "smk_count.txt"
rule copy:
    input: "data/{id}.txt"
    output: "smk_work/{id}.txt"
    shell: "cp {input} {output}"
rule count:
    input: expand("smk_work/{id}.txt", id=IDS)
    output: "smk_count.txt"
    shell: "find smk_work -type f | wc -l > {output}"
`;

/** Writes the Snakefile into `dir` (inputs in `dir`/data/<folder>/<id>.txt) and makes its outputs up to date. */
export async function setUpSnakemake(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'Snakefile'), SNAKEFILE);
  execFileSync('sh', ['-c', 'rm -rf smk_work && cp -r data smk_work && find smk_work -type f | wc -l > smk_count.txt'], { cwd: dir });
}
