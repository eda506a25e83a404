#!/usr/bin/env node
/**
 * Entry point of the `ocidist` binary. `ocidist version` is answered here, without loading anything else.
 * Everything else runs a program bundle built from `main.ts` — `main-sync.cjs`, with the implementation of
 * `ocidist sync` (@effect/cluster, SQL clients), when the command line has the word `sync`, else `main.cjs`,
 * without it — compiled with a V8 code cache kept in `$XDG_CACHE_HOME/ocidist` (or `~/.cache/ocidist`): from
 * the second run on, V8 skips parsing and compiling most of it. The cache is written by the first run of a command that talks to a registry.
 * `OCIDIST_NO_CODE_CACHE=1` turns it off; a cache that cannot be read, written or that V8 rejects is ignored
 * (and rewritten).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { version } from "./Version.js"

// undici parses HTTP with a WebAssembly build of llhttp. By default V8 also compiles it with its optimizing
// tier in background threads, and a process cannot exit before those finish: measured ~290 ms added to every
// short command (`ocidist digest`: 631 ms → 343 ms median with Liftoff only). The baseline compiler is plenty
// for parsing headers; bodies pass through it untouched.
v8.setFlagsFromString("--liftoff-only")

const args = process.argv.slice(2)
const json = args.length === 2 && args.includes("--json") && args.includes("version")

/** The command word: the first argument that is neither an option nor the value of one. */
const commandOf = (argv: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") return argv[i + 1]
    if (arg === "--platform" || arg === "--jobs" || arg === "-j" || arg === "--timeout") i++
    else if (!arg.startsWith("-")) return arg
  }
  return undefined
}

// Commands that move blobs allocate buffers at a high rate; with V8's --optimize-for-size their peak memory
// is ~40% lower at the same speed (pulling 512 MiB from a loopback registry: ~150 → ~90 MiB RSS, 3.4–4.7 s →
// 3.7–3.8 s). The other commands keep the default tuning, which starts faster. Each tuning has its own code
// cache below, as V8 refuses a cache made under other flags.
const flavour = ["pull", "push", "copy", "cp", "blob"].includes(commandOf(args) ?? "") ? "size" : "speed"
if (flavour === "size") {
  v8.setFlagsFromString("--optimize-for-size")
  paceCollections()
} // The other commands are short: what costs them is touching fresh memory, not collecting it. With the young
// generation kept at its initial size (instead of doubling at each scavenge) `ocidist digest` page-faults
// ~900 times less, which is ~20 ms on a VM where a first touch costs ~12 µs (7 scavenges become 14, each small).
else v8.setFlagsFromString("--semi-space-growth-factor=1")

/**
 * GC pacing for commands that move blobs. Every buffer a socket delivers is a fresh `ArrayBuffer` that dies
 * as soon as it is hashed and written; V8 collects them only when their external memory piles up (~30 MiB
 * here), which is most of a transfer's peak RSS. A minor collection every 10 ms while more than 4 MiB of
 * buffers are held (the young generation holds little else: ~0.1–0.5 ms each) frees them as they go: pulling
 * 512 MiB, peak RSS ~106 → ~78 MiB, CPU 0.86× and wall time 0.94×. Minor collections only; the timer does
 * not keep the process alive.
 */
function paceCollections(): void {
  // taken at the first need (exposing it builds a context: ~1 ms), never during a short start-up
  let collect: ((options: { readonly type: "minor" }) => void) | null | undefined
  const minorGc = () => {
    v8.setFlagsFromString("--expose-gc")
    const gc: unknown = vm.runInNewContext("gc")
    // V8 stamps a code cache with a hash of its flags: left on, --expose-gc would make the cache written at
    // exit one that the next start (which has not set it yet) rejects, so every pull of more than a few MiB
    // would compile main.cjs without its cache and serialize a new one at exit (8 MiB pull: ~6% of its CPU).
    // The function taken above keeps working.
    v8.setFlagsFromString("--no-expose-gc")
    return typeof gc === "function" ? gc as (options: { readonly type: "minor" }) => void : null
  }
  // only while buffers are piling up: not during start-up (a collection every 10 ms there cost ~30 ms)
  setInterval(() => {
    if (process.memoryUsage().arrayBuffers <= 4 * 1024 * 1024) return
    collect ??= minorGc()
    collect?.({ type: "minor" })
  }, 10).unref()
}

const cacheDir = (): string | undefined => {
  if (process.env.OCIDIST_NO_CODE_CACHE !== undefined && process.env.OCIDIST_NO_CODE_CACHE !== "") return undefined
  const base = process.env.XDG_CACHE_HOME !== undefined && process.env.XDG_CACHE_HOME !== ""
    ? process.env.XDG_CACHE_HOME
    : path.join(os.homedir(), ".cache")
  return path.join(base, "ocidist")
}

// `ocidist sync` (and `sync worker`, `sync status`) needs @effect/cluster, @effect/sql and the SQLite and
// PostgreSQL clients: ~520 KB more to read (~5 ms per start) and to evaluate with the command implementations
// (~140 ms), so they are in a bundle of their own, the whole program with them (one copy of effect per process). Global options may come before the
// command, so any argument `sync` chooses it: a false positive (`ocidist ref sync`) only starts a bit slower.
const bundle = args.includes("sync") ? "sync" : "main"

const run = (file: string) => {
  // The bundle is pure ASCII (esbuild escapes everything else): latin1 decodes it faster than utf8.
  const source = fs.readFileSync(file, "latin1")
  const dir = cacheDir()
  // V8 checks a cache against the source's length only: the key names the exact bundle file.
  let cacheFile: string | undefined
  if (dir !== undefined) {
    try {
      const stat = fs.statSync(file)
      cacheFile = path.join(
        dir,
        `code-${flavour}-${bundle}-${version}-${process.version}-${process.arch}-${stat.size}-${
          Math.floor(stat.mtimeMs)
        }.bin`
      )
    } catch {
      cacheFile = undefined
    }
  }
  let cachedData: Buffer | undefined
  if (cacheFile !== undefined) {
    try {
      cachedData = fs.readFileSync(cacheFile)
    } catch {
      cachedData = undefined
    }
  }
  // The bundle is one function expression, `(function (exports, require, module, __filename, __dirname) {…})`.
  const script = new vm.Script(source, { filename: file, ...(cachedData === undefined ? {} : { cachedData }) })
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // Written at exit, so that the functions this run compiled are in the cache too; only by a run that loaded
    // the command implementations (a registry command), so that the cache covers them.
    process.once("exit", () => {
      if ((globalThis as Record<symbol, unknown>)[Symbol.for("@ocidist/cli/opsLoaded")] !== true) return
      try {
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true })
        const tmp = `${cacheFile}.${process.pid}.tmp`
        fs.writeFileSync(tmp, script.createCachedData())
        fs.renameSync(tmp, cacheFile)
        // Caches of other builds of this bundle are of no use any more, nor those named before there were two
        // bundles (`code-<flavour>-<version>-…`); the other tuning's and the other bundle's stay.
        for (const name of fs.readdirSync(path.dirname(cacheFile))) {
          const [code, tuning, of] = name.split("-")
          if (
            code === "code" && name.endsWith(".bin") && name !== path.basename(cacheFile) && tuning === flavour &&
            (of === bundle || (of !== "main" && of !== "sync"))
          ) {
            fs.rmSync(path.join(path.dirname(cacheFile), name), { force: true })
          }
        }
      } catch {
        // no cache this time
      }
    })
  }
  const fn = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string
  ) => void
  const module = { exports: {} }
  fn(module.exports, createRequire(file), module, file, path.dirname(file))
}

if ((args.length === 1 && args[0] === "version") || json) {
  process.stdout.write(
    json ? JSON.stringify({ version, node: process.versions.node }) + "\n" : `ocidist ${version}\n`
  )
} else {
  run(path.join(path.dirname(fileURLToPath(import.meta.url)), bundle === "sync" ? "main-sync.cjs" : "main.cjs"))
}
