// Module hooks for child processes of the tests (`node --conditions=@ocidist/source --import
// ./test/support/tsLoader.mjs child.ts`): run the workspace's TypeScript sources directly, as vitest does,
// instead of a `dist/` that may be stale. `.ts` files are transpiled with TypeScript's `transpileModule`
// (types erased, no type check) and cached by content in node_modules/.cache/ts-children (written by rename,
// so concurrent children never read half a file); `./x.js` imports of `.ts` sources resolve to `./x.ts`.
import { createHash } from "node:crypto"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

const cacheDir = fileURLToPath(new URL("../../node_modules/.cache/ts-children/", import.meta.url))
let typescript

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (error) {
    const fromTs = context.parentURL !== undefined && context.parentURL.endsWith(".ts")
    if (error?.code === "ERR_MODULE_NOT_FOUND" && fromTs && /^\.\.?\//.test(specifier) && specifier.endsWith(".js")) {
      return next(`${specifier.slice(0, -3)}.ts`, context)
    }
    throw error
  }
}

const transpile = async (fileName, source) => {
  typescript ??= (await import("typescript")).default
  return typescript.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: typescript.ModuleKind.ESNext,
      target: typescript.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
      inlineSources: true
    }
  }).outputText
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context)
  const fileName = fileURLToPath(url)
  const source = await readFile(fileName, "utf8")
  const cached = `${cacheDir}${createHash("sha256").update(fileName).update("\0").update(source).digest("hex")}.js`
  let output
  try {
    output = await readFile(cached, "utf8")
  } catch {
    output = await transpile(fileName, source)
    const temp = `${cached}.${process.pid}.${Math.random().toString(16).slice(2)}.tmp`
    await mkdir(cacheDir, { recursive: true })
    await writeFile(temp, output)
    await rename(temp, cached)
  }
  return { format: "module", source: output, shortCircuit: true }
}
