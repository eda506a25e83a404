/**
 * `@ocidist/reference`, `@ocidist/spec`, `@ocidist/auth` and `@ocidist/distribution` (without its Node layer)
 * bundle for a platform-neutral runtime: esbuild `--platform=neutral` resolves no Node.js built-in for them,
 * and the bundles of reference and spec run in a V8 context that has no `process`, `Buffer` or `require`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as esbuild from "esbuild"
import { createHash } from "node:crypto"
import * as path from "node:path"
import * as vm from "node:vm"

const root = path.resolve(new URL("../../..", import.meta.url).pathname)

const bundle = (pkg: string, format: "esm" | "iife", globalName?: string) =>
  esbuild.build({
    entryPoints: [path.join(root, "packages", pkg, "src", "index.ts")],
    bundle: true,
    platform: "neutral",
    format,
    ...(globalName === undefined ? {} : { globalName }),
    mainFields: ["module", "main"],
    conditions: ["@ocidist/source"],
    write: false,
    logLevel: "silent"
  })

/** A context with the web-platform globals a browser or an edge runtime has, and nothing of Node.js. */
const webContext = () =>
  vm.createContext({ TextEncoder, TextDecoder, URL, setTimeout, clearTimeout, queueMicrotask, console })

describe("platform-neutral packages", () => {
  for (const pkg of ["reference", "spec", "auth", "distribution"]) {
    it(`@ocidist/${pkg} bundles with --platform=neutral`, async () => {
      const result = await bundle(pkg, "esm")
      assert.deepStrictEqual(result.errors, [])
      const code = result.outputFiles[0]!.text
      assert.notMatch(code, /from\s*["']node:/)
      assert.notMatch(code, /require\(["'](node:)?(crypto|fs|path|os|zlib|http|https|net|tls|child_process)["']\)/)
    })
  }

  it("the reference and spec bundles run without Node.js globals", async () => {
    const reference = await bundle("reference", "iife", "reference")
    const spec = await bundle("spec", "iife", "spec")
    const context = webContext()
    vm.runInContext(reference.outputFiles[0]!.text, context)
    vm.runInContext(spec.outputFiles[0]!.text, context)
    assert.isUndefined(vm.runInContext("typeof process === 'undefined' ? undefined : 'process'", context))
    const digest = vm.runInContext(`reference.Digest.ofBytes(new TextEncoder().encode("hello"), "sha512")`, context)
    assert.strictEqual(digest, `sha512:${createHash("sha512").update("hello").digest("hex")}`)
    const parsed = vm.runInContext(`reference.Reference.parse("ghcr.io/org/app:1.0").right.toString()`, context)
    assert.strictEqual(parsed, "ghcr.io/org/app:1.0")
    const platform = vm.runInContext(`spec.Platform.format(spec.Platform.current())`, context)
    assert.strictEqual(platform, "linux/amd64")
    const empty = vm.runInContext(`spec.Descriptor.empty.digest`, context)
    assert.strictEqual(empty, `sha256:${createHash("sha256").update("{}").digest("hex")}`)
  })
})
