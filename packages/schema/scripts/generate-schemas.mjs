// Regenerates schemas/*.json from the built models: `pnpm --filter @llem/schema gen:schemas`.
// The snapshot test fails when a model changes and this was not run.
import { writeFileSync } from "node:fs";
import { jsonSchemaFor, PUBLIC_FORMATS } from "../dist/index.js";

for (const name of Object.keys(PUBLIC_FORMATS)) {
  const file = new URL(`../schemas/${name}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(jsonSchemaFor(name), null, 2)}\n`);
  console.log(`wrote schemas/${name}.json`);
}
