// Runs the bundled ocidist binary as a subprocess.
import { afterAll } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export const binary = new URL("../dist/ocidist.cjs", import.meta.url).pathname

export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stdoutBytes: Buffer
  readonly stderr: string
}

export interface RunOptions {
  readonly env?: Record<string, string>
  readonly stdin?: string | Uint8Array
  readonly cwd?: string
}

// Every directory made by `tempDir`, removed after the test file that imported this module: a hook registered
// at the top level of an imported module belongs to the importing file (and each file has its own instance of
// this module). It runs after the file's own `afterAll` hooks (hooks run in reverse order), so after servers
// and child processes that still write into them are closed. (A `process.on("exit")` handler never runs: vitest
// ends its forks with SIGTERM.)
const created: Array<string> = []
afterAll(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
})

/** A fresh directory under the system temp dir, removed (recursively) after the current test file. */
export const tempDir = (prefix: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  created.push(dir)
  return dir
}

// A home of its own, so that no credentials of the machine (docker config.json, podman auth.json) are used.
const home = tempDir("ocidist-cli-home-")

export const isolatedEnv = (extra?: Record<string, string>): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("OCIDIST_") && k !== "DOCKER_CONFIG" && k !== "REGISTRY_AUTH_FILE") env[k] = v
  }
  return {
    ...env,
    HOME: home,
    DOCKER_CONFIG: path.join(home, ".docker"),
    XDG_RUNTIME_DIR: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    NO_COLOR: "1",
    ...extra
  }
}

export const start = (args: ReadonlyArray<string>, options?: RunOptions): ChildProcess =>
  spawn(process.execPath, [binary, ...args], {
    env: isolatedEnv(options?.env),
    stdio: ["pipe", "pipe", "pipe"],
    ...(options?.cwd === undefined ? {} : { cwd: options.cwd })
  })

export const collect = (child: ChildProcess, stdin?: string | Uint8Array) =>
  new Promise<Result>((resolve, reject) => {
    const out: Array<Buffer> = []
    let stderr = ""
    child.stdout!.on("data", (d: Buffer) => out.push(d))
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code, signal) => {
      const stdoutBytes = Buffer.concat(out)
      resolve({ code, signal, stdout: stdoutBytes.toString(), stdoutBytes, stderr })
    })
    child.stdin!.end(stdin ?? "")
  })

export const ocidist = (args: ReadonlyArray<string>, options?: RunOptions): Promise<Result> =>
  collect(start(args, options), options?.stdin)

/** Runs the binary in a pseudo-terminal (util-linux `script`), returning everything it printed. */
export const inPty = (args: ReadonlyArray<string>, options?: { readonly env?: Record<string, string> }) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve, reject) => {
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`
    const command = [process.execPath, binary, ...args].map(quote).join(" ")
    const child = spawn("script", ["-qfec", `stty cols 120 2>/dev/null; ${command}`, "/dev/null"], {
      env: isolatedEnv(options?.env),
      stdio: ["pipe", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d: Buffer) => (output += d.toString()))
    child.stderr.on("data", (d: Buffer) => (output += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, output }))
  })

/** Lines of NDJSON. */
export const ndjson = (text: string): Array<Record<string, unknown>> =>
  text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
