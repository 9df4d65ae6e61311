/** Help texts: plain strings, so `llem --help` loads nothing else. */

export const COMMANDS = [
  "run",
  "status",
  "results",
  "report",
  "validate",
  "doctor",
  "worker",
  "finalize",
  "slurm",
] as const;
export type CommandName = (typeof COMMANDS)[number];

export const MAIN_HELP = `llem — measure the energy, throughput and latency of LLM inference across deployment configurations

Usage: llem <command> [options]

Commands:
  run <study.yaml | experiment.yaml>   run a study (or one experiment), resume an interrupted one
  status <study-dir>…                  progress of a study, also while it runs
  results <study-dir>…                 per-config metrics with their spread across cycles
  report <study-dir>…                  one offline HTML report with plots (and SVGs for papers)
  validate <file>                      check a study or experiment YAML and show what it expands to
  doctor                               check this machine: Node, engines, energy components, GPUs

Scale-out (several workers share one study dir):
  run <study.yaml> --workers N         run a study with N workers on this node
  worker <study-dir>                   join a study as one more worker (any host, shared FS)
  slurm <study.yaml> --array N         write (and --submit) a SLURM job array of workers
  finalize <study-dir>                 write study_summary.json of a multi-worker study now

Options:
  -h, --help       show help (also \`llem <command> --help\`)
  -v, --version    print the version

Exit codes: 0 all runs completed; 1 runtime failure or some runs failed;
            2 bad config or usage; 130 interrupted.
Set LLEM_DEBUG=1 to see stack traces of errors.
`;

export const COMMAND_HELP: Record<CommandName, string> = {
  run: `Usage: llem run <study.yaml | experiment.yaml> [options]
       llem run <study.yaml> --resume [study-dir]
       llem run --resume <study-dir>

Expands the study, runs every experiment in its own process, and writes
results/{study_name}_{timestamp}/ (manifest, results, study_summary.json).
A file with \`task:\` and no sweep/experiments/study_execution is one experiment.

Options:
  --resume [DIR]       resume a study: DIR, or without DIR the newest unfinished study of this
                       YAML under the results dir. Completed runs are never re-run.
  --dry-run            show the expanded plan (counts, order, skipped configs with reasons,
                       duration estimate) and run nothing
  --results-dir DIR    where study dirs are created (default: output.results_dir of the YAML)
  -y, --yes            accept a study.yaml that changed since the study started (on a terminal
                       llem asks; otherwise it refuses without --yes)
  --json               machine-readable output: one JSON event per line, then the summary
  --workers N          run with N worker processes sharing the study dir on this node, each
                       pinned to its own CPU cores (every run still in its own process)
  --gpus-per-worker K  with --workers: each worker gets K GPUs of its own (consecutive slices
                       of CUDA_VISIBLE_DEVICES, or of 0 … N×K−1), set as the
                       CUDA_VISIBLE_DEVICES of its experiments and measured alone
  -h, --help           show this help

Ctrl-C once stops the current experiment(s) cleanly; twice kills them. Resume with --resume
(with --workers too; failed runs are re-run).
`,
  status: `Usage: llem status <study-dir>… [--json]
       llem status --watch <study-dir>

Progress of a study from its manifest alone: counts, what is running and for how long, failures
with their errors, and an ETA. Safe to use while another process runs the study.
Several dirs (e.g. results/quickstart_*) are shown one after the other.

Options:
  --json        print the status as JSON (one object per line and study dir)
  -w, --watch   follow the study live until it finishes: on a terminal the view is redrawn
                in place; otherwise one plain line per change (progress, running run, ETA,
                lock holder). Ctrl-C stops watching (exit 130).
  -h, --help    show this help
`,
  results: `Usage: llem results <study-dir>… [--format table|csv|json]

Per-config metrics across cycles (mean, stddev, min, max): J per output token, output tok/s,
TTFT p50, ITL p50. Energy that was estimated (not measured) is marked "est.".
Several dirs (e.g. results/quickstart_*) are shown one after the other; CSV and JSON rows carry
their study_dir.

Options:
  --format FORMAT   table (default), csv or json
  -h, --help        show this help
`,
  report: `Usage: llem report <study-dir>… [-o FILE] [--svg-dir DIR] [--cv-threshold X]

One self-contained HTML file (data, code and styles inline; it never touches the network):
the study's status, protocol, environment and energy sources (measured or estimated), a
sortable per-config table (mean ± sd across cycles, CV flagged), the Pareto front of J per
output token against output tok/s, TTFT p50 and ITL p50, each sweep axis, latency
distributions, power over time, failures and skipped configs. Several dirs: the same configs
(by config hash) side by side with deltas. Works while a study runs.

Options:
  -o, --output FILE      where the HTML goes (default: <first study-dir>/report.html)
  --svg-dir DIR          also write each plot as a standalone SVG there (for papers)
  --cv-threshold X       flag cycle-to-cycle CVs above X (default 0.05 = 5%)
  --json                 print the output path, size and plots (with point counts) as JSON
  -h, --help             show this help
`,
  validate: `Usage: llem validate <file> [--json]

Checks a study or experiment YAML: syntax (file:line:col), schema (path and expectation),
base: files and engines, and prints how many configs and runs it expands to.

Options:
  --json        print the outcome as JSON
  -h, --help    show this help
`,
  worker: `Usage: llem worker <study-dir> [options]

Joins an existing study (made by llem run, llem run --workers or llem slurm) as one more worker:
claims runs by lease, runs each in its own process, heartbeats, and leaves when no run is
pending or running. Works from any host that sees the study dir on a shared file system. The
worker that finds the study finished writes study_summary.json. A worker never re-runs a
completed run, nor a failed one (llem run --resume or llem slurm --resume re-runs those).

Options:
  -y, --yes          join although study.yaml changed since the study started
  --cpus LIST        pin this worker's experiments to these cores (taskset list, e.g. 0-3)
  --gpus LIST        this worker's GPUs (CUDA_VISIBLE_DEVICES of its experiments; measured alone)
  --exit-when-idle   leave as soon as nothing is claimable (do not wait for other workers'
                     runs in flight, which this worker would re-run if their holder died)
  --json             one JSON event per line, then the worker's outcome
  -h, --help         show this help

Exit codes: 0 nothing left (or the deadline), 1 its circuit breaker stopped it or it failed,
2 not a study dir / study.yaml changed without --yes, 130 interrupted.
`,
  finalize: `Usage: llem finalize <study-dir> [--json]

Writes study_summary.json of a multi-worker study from its manifest as it stands (the last
worker does this by itself; use finalize when the workers were killed, or to see the figures
so far). Safe while workers run.

Options:
  --json        print the outcome as JSON
  -h, --help    show this help
`,
  slurm: `Usage: llem slurm <study.yaml> --array N [options]
       llem slurm <study.yaml> --resume [study-dir] --array N [options]

Creates the study dir (manifest with every run pending) on a shared path and writes an sbatch
script of a job array whose N tasks each run \`llem worker DIR\` — logs per task under
DIR/slurm/logs/ — and submits it with --submit. Again with --resume: a new array for what is
left (failed runs are re-run, completed ones never).

Options:
  --array N            tasks in the array (workers), at least 1
  --gpus-per-task K    request K GPUs per task (--gres=gpu:K)
  --partition P        SLURM partition
  --time T             SLURM time limit per task (e.g. 02:00:00)
  --sbatch-arg ARG     one more #SBATCH line, verbatim (repeatable: --sbatch-arg=--mem=32G)
  --results-dir DIR    where the study dir is created (default: output.results_dir of the YAML)
  --resume [DIR]       resume DIR, or the newest unfinished study of this YAML
  -y, --yes            accept a study.yaml that changed since the study started (workers too)
  --submit             submit the script with sbatch (needs SLURM's client tools on PATH)
  --json               print the outcome as JSON
  -h, --help           show this help
`,
  doctor: `Usage: llem doctor [--json]

Checks this machine: Node version, engines, each energy sampler (and why it is or is not
available), GPUs.

Options:
  --json        print the findings as JSON
  -h, --help    show this help
`,
};
