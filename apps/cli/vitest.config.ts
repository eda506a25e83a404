import { defineProject, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

// Every test runs the bundled binary as a subprocess (and most talk to a real registry): allow for a loaded
// machine, and do not start dozens of node processes at once.
export default mergeConfig(
  shared,
  defineProject({
    test: { globalSetup: ["./test/globalSetup.ts"], testTimeout: 180_000, hookTimeout: 180_000, maxConcurrency: 4 }
  })
)
