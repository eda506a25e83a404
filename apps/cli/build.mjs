// Bundles the CLI: dist/ocidist.js, a small ESM launcher (answers `ocidist version` itself), and
// dist/ocidist.cjs, the program (main.ts: command tree, registry client, auth, layouts), which the launcher
// compiles with a V8 code cache (see src/bin.ts). Tree-shaken and minified; the command implementations sit
// behind a lazy `import()`, so `ref` and `--help` do not evaluate the registry client.
import { build } from "esbuild"
import { chmodSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

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
  external: ["@parcel/watcher"],
  logLevel: "warning"
}

const launcher = await build({
  ...common,
  entryPoints: [new URL("./src/bin.ts", import.meta.url).pathname],
  outfile: `${dist}/ocidist.js`,
  format: "esm"
})
const program = await build({
  ...common,
  entryPoints: [new URL("./src/main.ts", import.meta.url).pathname],
  outfile: `${dist}/ocidist.cjs`,
  format: "cjs",
  plugins: process.env.OCIDIST_FULL_UNDICI === undefined ? [undiciLite] : []
})
chmodSync(`${dist}/ocidist.js`, 0o755)
if (process.env.OCIDIST_BUILD_STATS !== undefined) {
  for (const result of [launcher, program]) {
    for (const [file, output] of Object.entries(result.metafile.outputs)) {
      console.log(file, output.bytes)
      if (process.env.OCIDIST_BUILD_STATS === "inputs") {
        Object.entries(output.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 15)
          .forEach(([input, { bytesInOutput }]) => console.log("   ", bytesInOutput, input.slice(-80)))
      }
    }
  }
}
