import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "backends", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
