import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, layer } from "@effect/vitest"
import { Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as nodeFs from "node:fs"
import * as nodePath from "node:path"
import { writeTar } from "../src/internal/archive.js"
import * as Tar from "../src/internal/tar.js"
import * as WriteBehind from "../src/internal/writeBehind.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "layout-tar-" }))
const encoder = new TextEncoder()

const readEntry = (archive: string, entry: Tar.TarEntry) =>
  Effect.flatMap(
    FileSystem.FileSystem,
    (fs) => Effect.map(Stream.runCollect(Tar.entryStream(fs, archive, entry)), (c) => Buffer.concat([...c]).toString())
  )

const longName = `${"d".repeat(120)}/${"e".repeat(90)}/${"f".repeat(110)}.json`
const mediumName = `${"a".repeat(80)}/${"b".repeat(60)}.tar`

layer(NodeContext.layer)("tar", (it) => {
  describe("writer", () => {
    it.scoped("writes ustar and PAX long names that GNU tar and our reader agree on", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const archive = nodePath.join(dir, "out.tar")
        const files = [
          { path: "short.txt", body: "short" },
          { path: mediumName, body: "ustar prefix" },
          { path: longName, body: "pax path" },
          { path: "empty", body: "" },
          { path: "ünïcödé/名前.txt", body: "utf-8" }
        ]
        yield* writeTar(
          archive,
          Stream.fromIterable([
            { path: "dir", type: "directory" as const, size: 0, content: Stream.empty },
            ...files.map((f) => ({
              path: f.path,
              size: encoder.encode(f.body).length,
              content: Stream.make(encoder.encode(f.body))
            }))
          ])
        )
        const entries = yield* Tar.scan(archive)
        for (const f of files) {
          const entry = Tar.lookup(entries, f.path)
          assert.isDefined(entry, f.path)
          assert.strictEqual(yield* readEntry(archive, entry!), f.body)
        }
        assert.strictEqual(entries.get("dir")?.type, "directory")
        const out = nodePath.join(dir, "x")
        nodeFs.mkdirSync(out)
        const r = yield* Tools.run("tar", ["-xf", archive, "-C", out])
        assert.strictEqual(r.exitCode, 0, r.stderr)
        for (const f of files) assert.strictEqual(nodeFs.readFileSync(nodePath.join(out, f.path), "utf8"), f.body)
      }))

    it.scoped("hands a big archive's pages to the disk as it is written; a failed flush fails the write", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const archive = nodePath.join(dir, "big.tar")
        const body = new Uint8Array(randomBytes(3 * WriteBehind.FLUSH_BYTES))
        const entry = (path: string) => ({
          path,
          size: body.length,
          content: Stream.fromIterable(
            Array.from({ length: 48 }, (_, i) => body.subarray(i * body.length / 48, (i + 1) * body.length / 48))
          )
        })
        const before = { ...WriteBehind.stats }
        yield* writeTar(archive, Stream.make(entry("layer")))
        assert.isAtLeast(WriteBehind.stats.started - before.started, 1)
        assert.strictEqual(WriteBehind.stats.finished - before.finished, WriteBehind.stats.started - before.started)
        const scanned = yield* Tar.scan(archive)
        assert.strictEqual(scanned.get("layer")?.size, body.length)

        // a disk that fails a background flush (EIO): the archive is not written, its temporary file is gone
        const real = WriteBehind.io.fdatasync
        yield* Effect.addFinalizer(() => Effect.sync(() => (WriteBehind.io.fdatasync = real)))
        WriteBehind.io.fdatasync = ((_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) =>
          void setImmediate(() =>
            callback(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO", errno: -5 }))
          )) as typeof real
        const failed = nodePath.join(dir, "failed.tar")
        const error = yield* Effect.flip(writeTar(failed, Stream.make(entry("layer"))))
        assert.strictEqual(error._tag, "FileSystemError")
        assert.match(error.message, /cannot write .*failed\.tar\..*i\/o error/)
        assert.deepStrictEqual(nodeFs.readdirSync(dir).sort(), ["big.tar"])
      }))

    it.scoped("fails (and leaves nothing) when content is shorter or longer than announced", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const archive = nodePath.join(dir, "bad.tar")
        const error = yield* Effect.flip(
          writeTar(archive, Stream.make({ path: "a", size: 10, content: Stream.make(encoder.encode("short")) }))
        )
        assert.strictEqual(error._tag, "SizeMismatch")
        const longer = yield* Effect.flip(
          writeTar(archive, Stream.make({ path: "a", size: 2, content: Stream.make(encoder.encode("longer")) }))
        )
        assert.strictEqual(longer._tag, "SizeMismatch")
        assert.deepStrictEqual(nodeFs.readdirSync(dir), [])
      }))

    it.scoped("sizes beyond the ustar field go in a PAX header (sparse 9 GB entry)", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const archive = nodePath.join(dir, "big.tar")
        const size = 9_000_000_001
        const header = Tar.header({ path: "big", size })
        const fd = nodeFs.openSync(archive, "w")
        nodeFs.writeSync(fd, header)
        const end = header.length + size + Tar.padding(size).length
        nodeFs.writeSync(fd, Tar.end(), 0, 1024, end)
        nodeFs.closeSync(fd)
        const entries = yield* Tar.scan(archive)
        const entry = entries.get("big")!
        assert.strictEqual(entry.size, size)
        assert.strictEqual(entry.offset, header.length)
      }))
  })

  describe("reader", () => {
    for (const format of ["gnu", "pax", "ustar", "v7"] as const) {
      it.scoped(`reads GNU tar --format=${format}, following symlinks and hard links`, () =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          const src = nodePath.join(dir, "src")
          const long = format === "ustar" || format === "v7" ? "plain" : `${"n".repeat(150)}/${"m".repeat(130)}`
          nodeFs.mkdirSync(nodePath.join(src, long), { recursive: true })
          nodeFs.writeFileSync(nodePath.join(src, long, "layer.tar"), "layer content")
          nodeFs.mkdirSync(nodePath.join(src, "legacy"))
          nodeFs.symlinkSync(`../${long}/layer.tar`, nodePath.join(src, "legacy", "layer.tar"))
          nodeFs.linkSync(nodePath.join(src, long, "layer.tar"), nodePath.join(src, "hard.tar"))
          const archive = nodePath.join(dir, "in.tar")
          const r = yield* Tools.run("tar", [`--format=${format}`, "-cf", archive, "-C", src, "."])
          assert.strictEqual(r.exitCode, 0, r.stderr)
          const entries = yield* Tar.scan(archive)
          for (const name of [`${long}/layer.tar`, `./${long}/layer.tar`, "legacy/layer.tar", "hard.tar"]) {
            const entry = Tar.lookup(entries, name)
            assert.isDefined(entry, name)
            assert.strictEqual(yield* readEntry(archive, entry!), "layer content")
          }
        }))
    }

    it.scoped("refuses files that are not tar archives, and truncated ones", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const notTar = nodePath.join(dir, "not.tar")
        nodeFs.writeFileSync(notTar, Buffer.alloc(2048, 7))
        assert.strictEqual((yield* Effect.flip(Tar.scan(notTar)))._tag, "InvalidArchive")
        const good = nodePath.join(dir, "good.tar")
        yield* writeTar(good, Stream.make({ path: "a", size: 5000, content: Stream.make(new Uint8Array(5000)) }))
        const truncated = nodePath.join(dir, "truncated.tar")
        nodeFs.writeFileSync(truncated, nodeFs.readFileSync(good).subarray(0, 2000))
        assert.strictEqual((yield* Effect.flip(Tar.scan(truncated)))._tag, "InvalidArchive")
        const empty = nodePath.join(dir, "empty.tar")
        nodeFs.writeFileSync(empty, "")
        assert.strictEqual((yield* Effect.flip(Tar.scan(empty)))._tag, "InvalidArchive")
      }))
  })
})

const segment = FastCheck.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/).filter((s) => s !== "." && s !== "..")
const entryArb = FastCheck.record({
  path: FastCheck.array(segment, { minLength: 1, maxLength: 9 }).map((parts) => parts.join("/")),
  size: FastCheck.integer({ min: 0, max: 3000 })
})

layer(NodeContext.layer)("tar properties", (it) => {
  it.effect.prop(
    "whatever we write, we read back (paths up to ~360 bytes, sizes around block boundaries)",
    [FastCheck.uniqueArray(entryArb, { minLength: 1, maxLength: 12, selector: (e) => e.path })],
    ([entries]) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "layout-tar-prop-" })
        // a path may not be both a file and a directory prefix of another file
        const files = entries.filter((e) => !entries.some((o) => o.path.startsWith(`${e.path}/`)))
        const archive = nodePath.join(dir, "p.tar")
        const body = (e: { readonly path: string; readonly size: number }) =>
          new Uint8Array(e.size).fill(e.path.length % 251)
        yield* writeTar(archive, Stream.fromIterable(files.map((e) => ({ ...e, content: Stream.make(body(e)) }))))
        const scanned = yield* Tar.scan(archive)
        assert.strictEqual(scanned.size, files.length)
        for (const e of files) {
          const entry = Tar.lookup(scanned, e.path)
          assert.isDefined(entry)
          assert.strictEqual(entry!.size, e.size)
          const bytes = yield* Stream.runCollect(Tar.entryStream(fs, archive, entry!))
          assert.deepStrictEqual(new Uint8Array(Buffer.concat([...bytes])), body(e))
        }
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 25 } }
  )
})
