// Bundles the CLI once before its tests run, so tests always exercise the current sources as the shipped binary.
import { execFileSync } from "node:child_process"

export default function setup() {
  execFileSync(process.execPath, [new URL("../build.mjs", import.meta.url).pathname], { stdio: "inherit" })
}
