// Runs the bundled ocidist binary as a subprocess.
import { spawn } from "node:child_process"

export const binary = new URL("../dist/ocidist.js", import.meta.url).pathname

export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const ocidist = (
  args: ReadonlyArray<string>,
  options?: { readonly env?: Record<string, string>; readonly stdin?: string }
) =>
  new Promise<Result>((resolve, reject) => {
    const child = spawn(process.execPath, [binary, ...args], {
      env: { ...process.env, NO_COLOR: "1", ...options?.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options?.stdin ?? "")
  })
