/**
 * `cache dir` and `cache clean`: the user's cache directory, where unfinished archive writes keep their
 * verified blobs (`staging/`) for a rerun.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { CliFailure } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import * as Format from "../format.js"
import { json, line } from "./common.js"
import { cacheDirectoryOf, layerOptions } from "./services.js"

const cacheDirectory = Effect.map(layerOptions, cacheDirectoryOf)

/** `cache dir` */
export const cacheDir = (globals: Globals) =>
  Effect.gen(function*() {
    const directory = yield* cacheDirectory
    yield* globals.json ? json({ directory, staging: path.join(directory, "staging") }) : line(directory)
  })

/** Files and bytes under a directory (0 when it does not exist). */
const usage = (fs: FileSystem.FileSystem, dir: string): Effect.Effect<{ files: number; bytes: number }> =>
  Effect.gen(function*() {
    if (!(yield* Effect.orElseSucceed(fs.exists(dir), () => false))) return { files: 0, bytes: 0 }
    const names = yield* Effect.orElseSucceed(fs.readDirectory(dir, { recursive: true }), () => [])
    let files = 0
    let bytes = 0
    for (const name of names) {
      const info = yield* Effect.option(fs.stat(path.join(dir, name)))
      if (info._tag === "Some" && info.value.type === "File") {
        files++
        bytes += Number(info.value.size)
      }
    }
    return { files, bytes }
  })

/** `cache clean` */
export const cacheClean = (globals: Globals) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = yield* cacheDirectory
    const staging = path.join(directory, "staging")
    const { bytes, files } = yield* usage(fs, staging)
    yield* fs.remove(staging, { recursive: true, force: true }).pipe(
      Effect.mapError((e) => new CliFailure({ detail: `cannot remove ${staging}: ${e.message}` }))
    )
    if (globals.json) return yield* json({ directory, staging, removedFiles: files, removedBytes: bytes })
    if (!globals.quiet) yield* line(`Removed ${files} file(s), ${Format.bytes(bytes)} from ${staging}`)
  }).pipe(Effect.provide(NodeFileSystem.layer))
