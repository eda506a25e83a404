// Bundles the CLI into one ESM file (dist/ocidist.js) so it starts fast: one file to load, tree-shaken.
import { build } from "esbuild"
import { chmodSync, readFileSync } from "node:fs"

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"))
const outfile = new URL("./dist/ocidist.js", import.meta.url).pathname
await build({
  entryPoints: [new URL("./src/bin.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@ocidist/source"],
  treeShaking: true,
  minify: false,
  legalComments: "none",
  define: { __OCIDIST_VERSION__: JSON.stringify(version) },
  banner: {
    js:
      "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);"
  },
  external: ["@parcel/watcher"],
  logLevel: "warning"
})
chmodSync(outfile, 0o755)
