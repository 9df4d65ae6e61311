/** Help texts: plain strings, so `llem --help` loads nothing else. */

export const COMMANDS = ["run", "status", "results", "report", "validate", "doctor"] as const;
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
  -h, --help           show this help

Ctrl-C once stops the current experiment cleanly; twice kills it. Resume with --resume.
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
  doctor: `Usage: llem doctor [--json]

Checks this machine: Node version, engines, each energy sampler (and why it is or is not
available), GPUs.

Options:
  --json        print the findings as JSON
  -h, --help    show this help
`,
};
