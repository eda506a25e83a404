/**
 * The package graph of the workspace, checked from the package manifests and from every import in the
 * packages' sources: reference → spec → auth → distribution / layout → ocidist / registry → sync → cli, and
 * nothing else.
 * A package may use a package of an earlier layer only (distribution and layout never use each other), the
 * platform-neutral packages import no Node.js module, and only the `Node*` modules of a package import
 * `@effect/platform-node`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(new URL("../../..", import.meta.url).pathname)

/** Layers, lowest first: a package may depend on packages of lower layers only. */
const layers: Record<string, number> = {
  "@ocidist/reference": 0,
  "@ocidist/spec": 1,
  "@ocidist/auth": 2,
  "@ocidist/distribution": 3,
  "@ocidist/layout": 3,
  "ocidist": 4,
  "@ocidist/registry": 4,
  "@ocidist/sync": 5,
  "@ocidist/cli": 6
}

/** Packages whose sources must run on any runtime (browsers, Deno, Bun, Node). */
const neutral = new Set(["@ocidist/reference", "@ocidist/spec", "@ocidist/auth", "@ocidist/distribution"])

/** Modules allowed to use Node.js: a package's Node wiring, and the facade's Promise entry point. */
const isNodeModule = (file: string) => /\/Node[A-Z]\w*\.ts$/.test(file) || file.endsWith("/ocidist/src/promise.ts")

/** Whether a specifier names a Node wiring module (`./NodeHash.js`, `@ocidist/distribution/NodeRegistryClient`). */
const namesNodeModule = (specifier: string) => /(?:^|\/)Node[A-Z]\w*(?:\.js)?$/.test(specifier)

interface Workspace {
  readonly name: string
  readonly dir: string
  readonly dependencies: ReadonlyArray<string>
  readonly private: boolean
}

const workspaces: ReadonlyArray<Workspace> = ["packages", "apps"].flatMap((group) =>
  fs.readdirSync(path.join(root, group)).flatMap((entry) => {
    const dir = path.join(root, group, entry)
    const manifest = path.join(dir, "package.json")
    if (!fs.existsSync(manifest)) return []
    const json = JSON.parse(fs.readFileSync(manifest, "utf8")) as {
      name: string
      private?: boolean
      dependencies?: Record<string, string>
      peerDependencies?: Record<string, string>
    }
    return [{
      name: json.name,
      dir,
      private: json.private === true,
      dependencies: [...Object.keys(json.dependencies ?? {}), ...Object.keys(json.peerDependencies ?? {})]
    }]
  })
)
const names = new Set(workspaces.map((w) => w.name))

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(file) : entry.name.endsWith(".ts") ? [file] : []
  })

/** Module specifiers of the static and dynamic imports and re-exports of a file. */
const importsOf = (file: string): ReadonlyArray<string> => {
  const text = fs.readFileSync(file, "utf8")
  const found: Array<string> = []
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`]*?\bfrom\s*["']([^"']+)["']/g)) {
    found.push(match[1]!)
  }
  for (const match of text.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g)) found.push(match[1]!)
  for (const match of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(match[1]!)
  return found
}

const packageOf = (specifier: string): string | undefined => {
  const parts = specifier.split("/")
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
  return names.has(name) ? name : undefined
}

describe("the package graph", () => {
  it("every workspace package has a layer, except the private test harness", () => {
    for (const w of workspaces) {
      if (w.name === "@ocidist/testing") continue
      assert.isDefined(layers[w.name], `${w.name} has no layer in Architecture.test.ts`)
    }
  })

  it("declared dependencies only go to lower layers", () => {
    const violations: Array<string> = []
    for (const w of workspaces) {
      const own = layers[w.name]
      for (const dep of w.dependencies.filter((d) => names.has(d))) {
        const theirs = layers[dep]
        if (own === undefined || theirs === undefined || theirs >= own) violations.push(`${w.name} → ${dep}`)
      }
    }
    assert.deepStrictEqual(violations, [])
  })

  it("source imports only go to declared, lower-layer packages, never into another package's files", () => {
    const violations: Array<string> = []
    for (const w of workspaces) {
      const own = layers[w.name]
      for (const file of sourceFiles(path.join(w.dir, "src"))) {
        const where = path.relative(root, file)
        for (const specifier of importsOf(file)) {
          if (specifier.startsWith(".")) {
            const target = path.resolve(path.dirname(file), specifier)
            if (!target.startsWith(path.join(w.dir, "src"))) violations.push(`${where} reaches outside: ${specifier}`)
            continue
          }
          const dep = packageOf(specifier)
          if (dep === undefined || dep === w.name) continue
          if (!w.dependencies.includes(dep)) violations.push(`${where} imports undeclared ${dep}`)
          const theirs = layers[dep]
          if (own === undefined || theirs === undefined || theirs >= own) {
            violations.push(`${where} imports ${dep} (layer ${theirs} from ${own})`)
          }
          if (specifier.includes("/internal/")) violations.push(`${where} imports internals: ${specifier}`)
        }
      }
    }
    assert.deepStrictEqual(violations, [])
  })

  it("the graph is reference → spec → auth → distribution / layout → ocidist → sync → cli", () => {
    const edges = (name: string) =>
      workspaces.find((w) => w.name === name)!.dependencies.filter((d) => names.has(d)).sort()
    assert.deepStrictEqual(edges("@ocidist/reference"), [])
    assert.deepStrictEqual(edges("@ocidist/spec"), ["@ocidist/reference"])
    assert.deepStrictEqual(edges("@ocidist/layout"), ["@ocidist/reference", "@ocidist/spec"])
    assert.isFalse(edges("@ocidist/distribution").includes("@ocidist/layout"))
    assert.isFalse(edges("@ocidist/layout").includes("@ocidist/distribution"))
    assert.includeMembers(edges("ocidist"), ["@ocidist/distribution", "@ocidist/layout"])
    // the embedded registry serves content stores; it is not a client of registries
    assert.deepStrictEqual(edges("@ocidist/registry"), ["@ocidist/layout", "@ocidist/reference", "@ocidist/spec"])
    // the sync copies with the facade (and its Node wiring authenticates); the embedded registry is for its tests only
    assert.deepStrictEqual(edges("@ocidist/sync"), [
      "@ocidist/auth",
      "@ocidist/distribution",
      "@ocidist/reference",
      "ocidist"
    ])
  })

  it("neutral packages import no Node.js module; only Node* modules use @effect/platform-node or Node wiring", () => {
    const violations: Array<string> = []
    for (const w of workspaces) {
      if (w.name === "@ocidist/testing" || w.name === "@ocidist/cli") continue
      for (const file of sourceFiles(path.join(w.dir, "src"))) {
        const where = path.relative(root, file)
        for (const specifier of importsOf(file)) {
          const node = specifier.startsWith("node:")
          const platformNode = specifier.startsWith("@effect/platform-node")
          if ((platformNode || namesNodeModule(specifier)) && !isNodeModule(file)) {
            violations.push(`${where} imports ${specifier}`)
          }
          if (node && neutral.has(w.name) && !isNodeModule(file)) violations.push(`${where} imports ${specifier}`)
        }
      }
    }
    assert.deepStrictEqual(violations, [])
  })
})
