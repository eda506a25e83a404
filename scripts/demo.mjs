// The main job, offline: builds the packages and the CLI, then runs the CLI.
// (Once the facade lands, this pulls and pushes images through a local registry.)
import { spawnSync } from "node:child_process"

const root = new URL("..", import.meta.url).pathname
const run = (command, args) => {
  console.log(`$ ${[command, ...args].join(" ")}`)
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" }
  })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
run("pnpm", ["build"])
const cli = "apps/cli/dist/ocidist.js"
run("node", [cli, "version"])
for (const reference of ["ubuntu", "ghcr.io/org/app:1.2.3", "localhost:5000/team/tool@sha256:" + "0".repeat(64)]) {
  run("node", [cli, "ref", reference])
}
run("node", [cli, "ref", "--json", "index.docker.io/library/alpine:3.20"])
