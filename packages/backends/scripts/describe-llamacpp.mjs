// Loads the llama.cpp binary the engine would load and prints one line saying which it is and
// what it costs, as `llem doctor` does (`--json`: the whole description). A file, not `node -e`:
// node-llama-cpp forks its binary test with the parent's execArgv.
import { describeLlamaCppBinary } from "../dist/index.js";

const description = await describeLlamaCppBinary();
console.log(process.argv.includes("--json") ? JSON.stringify(description) : description.detail);
process.exit(description.ok ? 0 : 1);
