import { defineConfig } from "vitest/config"

export default defineConfig({
  // Vitest resolves node tests through Vite's SSR resolver: the "@ocidist/source" condition must go in
  // ssr.resolve, and listing conditions replaces Vite's defaults, hence the rest.
  ssr: { resolve: { conditions: ["@ocidist/source", "module", "node", "development|production"] } },
  resolve: { conditions: ["@ocidist/source", "module", "node", "development|production"] },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
