import { defineProject, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

// Every test starts its own registries on free ports: they can run concurrently within a file.
export default mergeConfig(shared, defineProject({ test: { sequence: { concurrent: true } } }))
