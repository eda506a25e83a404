/**
 * A child process of Concurrency.test.ts, one `ocidist`-like writer of a layout:
 *
 * - `tag <layout> <name> <count>`: stores a manifest (and its config) of its own, then tags it `<name>-0` …
 *   `<name>-<count - 1>`, one index update each, two at a time.
 * - `gc <layout> <rounds>`: runs `gc()` (default grace period) `rounds` times.
 * - `blob <layout> <seed> <MiB>`: writes a blob of `<MiB>` MiB, the same for the same seed, slowly (64 KiB
 *   chunks, 20 ms apart), into the layout at `<layout>`, created if need be (`openOrCreate`).
 * - `hold <layout>`: enters an index update and stays inside it (holding the layout lock) until interrupted
 *   (SIGINT/SIGTERM); prints `held` once inside.
 *
 * Prints one JSON line with what it did. Run with `--conditions=@ocidist/source --import ./tsLoader.mjs`.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Layout } from "@ocidist/layout"
import { Digest } from "@ocidist/reference"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const [mode, dir, ...rest] = process.argv.slice(2)
const encoder = new TextEncoder()
const print = (value: unknown) => Effect.sync(() => process.stdout.write(`${JSON.stringify(value)}\n`))

const tagMany = (layout: Layout.Layout, name: string, count: number) =>
  Effect.gen(function*() {
    const config = encoder.encode(JSON.stringify({ name }))
    const configDescriptor = {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: Digest.ofBytes(config),
      size: config.length
    }
    yield* layout.pushBlob(configDescriptor, Storage.fromBytes(config))
    const manifest = encoder.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: configDescriptor,
      layers: []
    }))
    const descriptor = yield* layout.pushManifestBytes(manifest)
    yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => `${name}-${i}`),
      (tag) => layout.tag(descriptor, tag),
      { concurrency: 2, discard: true }
    )
    return { tagged: count, digest: descriptor.digest }
  })

const program = Effect.gen(function*() {
  if (dir === undefined) return yield* Effect.dieMessage("usage: layoutChild <mode> <layout> …")
  const layout = yield* (mode === "blob" ? Layout.openOrCreate(dir) : Layout.open(dir))
  switch (mode) {
    case "tag":
      return yield* print(yield* tagMany(layout, rest[0]!, Number(rest[1])))
    case "gc": {
      let removed = 0
      for (let i = 0; i < Number(rest[0]); i++) removed += (yield* layout.gc()).removed.length
      return yield* print({ removed })
    }
    case "blob": {
      // the same blob in every process given the same seed and size; the pauses make writers overlap
      const size = Number(rest[1]) * 1024 * 1024
      const bytes = new Uint8Array(size)
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + Number(rest[0])) & 0xff
      const descriptor = { mediaType: "application/octet-stream", digest: Digest.ofBytes(bytes), size }
      const chunks = Array.from({ length: size / 65536 }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536))
      const content = Storage.fromStream(
        Stream.mapEffect(Stream.fromIterable(chunks), (chunk) => Effect.as(Effect.sleep("20 millis"), chunk))
      )
      const result = yield* layout.pushBlob(descriptor, content)
      return yield* print({ existed: result.existed, digest: result.digest })
    }
    case "hold":
      return yield* layout.updateIndex(() => Effect.zipRight(print("held"), Effect.never))
    default:
      return yield* Effect.dieMessage(`unknown mode ${mode}`)
  }
})

NodeRuntime.runMain(Effect.provide(program, NodeContext.layer))
