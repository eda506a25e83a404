// Bundles the CLI: dist/ocidist.cjs, a small launcher (answers `ocidist version` itself), and
// dist/main.cjs, the program (main.ts: command tree, registry client, auth, layouts), which the launcher
// compiles with a V8 code cache (see src/bin.ts). Tree-shaken and minified; the command implementations sit
// behind a lazy `import()`, so `ref` and `--help` do not evaluate the registry client, and the embedded
// registry of `registry serve` (@ocidist/registry) behind one of its own. dist/main-sync.cjs is the same
// program with the implementation of `ocidist sync` (see `withoutSync` below).
import { build } from "esbuild"
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { basename, dirname, join, resolve } from "node:path"

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"))
const dist = new URL("./dist", import.meta.url).pathname
rmSync(`${dist}/chunks`, { recursive: true, force: true })

// undici's index.js loads all of undici (fetch, WebSocket, caches, mocks, EventSource: ~530 KB minified), and,
// being CommonJS, cannot be tree-shaken. The CLI only uses its dispatchers (@effect/platform-node's undici
// client and @ocidist/distribution's per-registry agents), so `undici` is replaced by the part of its index.js
// that builds them.
const requireFromPlatform = createRequire(
  createRequire(import.meta.url).resolve("@effect/platform-node/package.json")
)
const undiciRoot = dirname(requireFromPlatform.resolve("undici"))
const lib = (file) => JSON.stringify(join(undiciRoot, "lib", file))
const undiciLite = {
  name: "undici-lite",
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: "undici-lite", namespace: "undici-lite" }))
    build.onLoad({ filter: /.*/, namespace: "undici-lite" }, () => ({
      resolveDir: undiciRoot,
      loader: "js",
      contents: `"use strict"
const Dispatcher = require(${lib("dispatcher/dispatcher.js")})
const Client = require(${lib("dispatcher/client.js")})
const Pool = require(${lib("dispatcher/pool.js")})
const Agent = require(${lib("dispatcher/agent.js")})
const ProxyAgent = require(${lib("dispatcher/proxy-agent.js")})
const EnvHttpProxyAgent = require(${lib("dispatcher/env-http-proxy-agent.js")})
const errors = require(${lib("core/errors.js")})
const api = require(${lib("api/index.js")})
const { getGlobalDispatcher, setGlobalDispatcher } = require(${lib("global.js")})
Object.assign(Dispatcher.prototype, api)
module.exports = { Dispatcher, Client, Pool, Agent, ProxyAgent, EnvHttpProxyAgent, errors, getGlobalDispatcher, setGlobalDispatcher, ...api }
`
    }))
  }
}

// Node's built-in modules are compiled when first required, and most runs need few of them: `node:http2`
// (~11 ms; undici only speaks HTTP/2 when asked to), `node:child_process` (~7 ms; credential helpers only),
// `node:crypto` (~7 ms; hashing, TLS), `node:tls` (https registries), `node:zlib` (archives), `node:readline`
// (prompts) were all loaded by every start. They are loaded on first use instead: undici's HTTP/2 connector
// behind a function that requires it when called, the built-ins behind getters that require them when read
// (an object of getters, one per export of the module as the Node that builds the bundle has it).
const lazyUndiciH2 = {
  name: "lazy-undici-h2",
  setup(build) {
    build.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
      args.importer.endsWith(join("dispatcher", "client.js"))
        ? { path: join(dirname(args.importer), "client-h2.js"), namespace: "lazy-undici-h2" }
        : undefined)
    build.onLoad({ filter: /.*/, namespace: "lazy-undici-h2" }, (args) => ({
      resolveDir: dirname(args.path),
      loader: "js",
      contents: `"use strict"
let connectH2
module.exports = function (client, socket) {
  connectH2 ??= require(${JSON.stringify(args.path)})
  return connectH2(client, socket)
}
`
    }))
  }
}
const lazyBuiltins = (names) => ({
  name: "lazy-builtins",
  setup(build) {
    build.onResolve(
      { filter: new RegExp(`^(node:)?(${names.join("|")})$`) },
      (args) =>
        args.namespace === "lazy-builtin"
          ? { path: args.path, external: true }
          : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" }
    )
    build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => {
      const id = JSON.stringify(`node:${args.path}`)
      const getters = Object.keys(requireHere(`node:${args.path}`))
        .map((key) => `${JSON.stringify(key)}: { enumerable: true, get: () => load()[${JSON.stringify(key)}] }`)
      return {
        loader: "js",
        contents: `"use strict"
let loaded
const load = () => loaded ??= require(${id})
module.exports = Object.defineProperties({}, { ${getters.join(", ")} })
`
      }
    })
  }
})
const requireHere = createRequire(import.meta.url)

// `ocidist registry serve` runs @effect/platform-node's HTTP server, which imports `ws` (~50 KB minified) for
// WebSocket upgrades and makes its WebSocketServer on the first upgrade only. The registry never upgrades a
// connection, so `ws` is replaced by a stub that fails if it ever were.
const noWebSocketServer = {
  name: "no-ws",
  setup(build) {
    build.onResolve({ filter: /^ws$/ }, () => ({ path: "ws", namespace: "no-ws" }))
    build.onLoad({ filter: /.*/, namespace: "no-ws" }, () => ({
      loader: "js",
      contents: `"use strict"
class WebSocketServer {
  constructor() {
    throw new Error("ocidist does not serve WebSocket upgrades")
  }
}
module.exports = { WebSocketServer }
`
    }))
  }
}

// undici embeds its two llhttp WebAssembly builds (SIMD and plain) as base64 strings: 155 KB, 16% of the
// bundle, read and kept in the code cache by every start though a run compiles at most one of them. They are
// written next to the bundle as .wasm files instead, and read when undici first needs one.
const llhttpFiles = {
  name: "llhttp-files",
  setup(build) {
    build.onLoad({ filter: /[\\/]llhttp[\\/]llhttp(_simd)?-wasm\.js$/ }, (args) => {
      const file = basename(args.path).replace(/-wasm\.js$/, ".wasm")
      mkdirSync(dist, { recursive: true })
      writeFileSync(join(dist, file), requireHere(args.path))
      return {
        loader: "js",
        contents: `"use strict"
module.exports = require("node:fs").readFileSync(require("node:path").join(__dirname, ${JSON.stringify(file)}))
`
      }
    })
  }
}

// `ocidist sync` brings @effect/cluster, @effect/workflow, @effect/rpc, @effect/sql and the SQLite and
// PostgreSQL clients (~520 KB minified). In the program bundle they cost every start ~5 ms of CPU (read and
// deserialized with the code cache), and every command that loads the implementations ~140 ms (evaluated, and
// libsql's native module loaded: `digest` 289 → 150 ms CPU). They are left out of dist/main.cjs: the two modules that import them (src/internal/ops/sync.ts, syncCluster.ts)
// are replaced there by stubs that fail if called, and dist/main-sync.cjs is the whole program. The launcher
// runs main-sync.cjs when the command line has the word `sync` (src/bin.ts), so that one process has one copy
// of effect, and each bundle its own code cache.
const syncOps = ["sync.ts", "syncCluster.ts"].map((file) =>
  new URL(`./src/internal/ops/${file}`, import.meta.url).pathname
)
const withoutSync = {
  name: "without-sync",
  setup(build) {
    build.onResolve({ filter: /(^|\/)(sync|syncCluster)\.js$/ }, (args) => {
      const file = resolve(args.resolveDir, args.path).replace(/\.js$/, ".ts")
      return syncOps.includes(file) ? { path: file, namespace: "without-sync" } : undefined
    })
    build.onLoad({ filter: /.*/, namespace: "without-sync" }, (args) => {
      // the values the module exports (esbuild fails the build on an import of a name left out here)
      const names = [...readFileSync(args.path, "utf8").matchAll(/^export (?:const|function|class) (\w+)/gm)]
        .map((match) => match[1])
      const message = `${basename(args.path)} is not in main.cjs: the launcher runs main-sync.cjs for \`sync\``
      return {
        loader: "js",
        contents: `const missing = () => {
  throw new Error(${JSON.stringify(message)})
}
${names.map((name) => `export const ${name} = missing`).join("\n")}
`
      }
    })
  }
}

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  conditions: ["@ocidist/source"],
  treeShaking: true,
  minify: process.env.OCIDIST_NO_MINIFY === undefined,
  keepNames: false,
  legalComments: "none",
  // bin.ts reads the bundle as latin1: keep it ASCII.
  charset: "ascii",
  metafile: true,
  define: { __OCIDIST_VERSION__: JSON.stringify(version) },
  // libsql (the embedded store of `ocidist sync`) loads a native module: it stays in node_modules, a
  // dependency of this package, and is required from there at run time
  external: ["@parcel/watcher", "libsql", "@libsql/*"],
  logLevel: "warning"
}

// CommonJS rather than ESM: Node starts a CommonJS entry point without its ESM loader, ~5 ms sooner.
const launcher = await build({
  ...common,
  entryPoints: [new URL("./src/bin.ts", import.meta.url).pathname],
  outfile: `${dist}/ocidist.cjs`,
  format: "cjs",
  define: { ...common.define, "import.meta.url": "__ocidist_launcher_url" },
  banner: { js: "var __ocidist_launcher_url = require(\"node:url\").pathToFileURL(__filename).href;" }
})
const program = (outfile, plugins) =>
  build({
    ...common,
    entryPoints: [new URL("./src/main.ts", import.meta.url).pathname],
    outfile,
    format: "cjs",
    // The launcher compiles the file as it is, so it carries its own CommonJS wrapper: wrapping it at run time
    // made V8 flatten a ~790 KB concatenated string, ~190 page faults (~2 ms) per start here.
    banner: { js: "(function (exports, require, module, __filename, __dirname) {" },
    footer: { js: "})" },
    plugins: [
      ...plugins,
      ...(process.env.OCIDIST_FULL_UNDICI === undefined ? [undiciLite] : []),
      lazyUndiciH2,
      noWebSocketServer,
      llhttpFiles,
      lazyBuiltins(["child_process", "crypto", "readline", "tls", "zlib"])
    ]
  })
const [main, mainSync] = await Promise.all([
  program(`${dist}/main.cjs`, [withoutSync]),
  program(`${dist}/main-sync.cjs`, [])
])
// Whatever the sync alone needs must stay out of main.cjs (a command declaration that imported
// @ocidist/sync, say, would bring it back).
const syncOnly =
  /[\\/](@effect[\\/](cluster|workflow|rpc|sql|sql-libsql|sql-pg|experimental)|@libsql|pg|msgpackr|packages[\\/]sync)[\\/]/
const leaked = Object.keys(main.metafile.inputs).filter((input) => syncOnly.test(input))
if (leaked.length > 0) {
  throw new Error(`main.cjs includes modules of \`ocidist sync\`:\n  ${leaked.slice(0, 10).join("\n  ")}`)
}
chmodSync(`${dist}/ocidist.cjs`, 0o755)
if (process.env.OCIDIST_BUILD_STATS !== undefined) {
  for (const result of [launcher, main, mainSync]) {
    for (const [file, output] of Object.entries(result.metafile.outputs)) {
      console.log(file, output.bytes)
      if (process.env.OCIDIST_BUILD_STATS === "inputs") {
        Object.entries(output.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 15)
          .forEach(([input, { bytesInOutput }]) => console.log("   ", bytesInOutput, input.slice(-80)))
      }
    }
  }
}
